// The examples stay true: each runs and shows what its comments promise.
import { describe, expect, it } from 'vitest';
import { main as basic } from '../examples/basic-mm.js';

describe('examples', () => {
  it('basic-mm maps, writes and drops a page', () => {
    const out: string[] = [];
    const p = basic((s) => out.push(s));
    expect(out[1]).toBe('first page reads 0x0, second 0x41');
    expect(p.mm.rss).toBe(1);
  });
});
