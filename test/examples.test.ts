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

import { main as mallocBasic } from '../examples/malloc-basic.js';
import { main as useAfterFree } from '../examples/use-after-free.js';
import { main as hugeZero } from '../examples/huge-zero-page.js';
import { main as reallocMoves } from '../examples/realloc-moves.js';
import { UseAfterFreeError } from '../src/index.js';

describe('malloc examples', () => {
  it('malloc-basic keeps one VMA and takes no mmap_lock write after setup', () => {
    const r = mallocBasic(() => {});
    expect(r.proc.mm.mapCount).toBe(r.vmasAfterSetup);
    expect(r.proc.mm.lock.total.write).toBe(r.writesAfterSetup);
  });

  it('use-after-free names the allocation', () => {
    const out: string[] = [];
    const e = useAfterFree((s) => out.push(s));
    expect(e).toBeInstanceOf(UseAfterFreeError);
    expect(out[0]).toMatch(/use after free: 0x[0-9a-f]+ is 4242 bytes into malloc\(1048576\)/);
  });

  it('huge-zero-page: the extension turns touched segments into THPs', () => {
    const { off, on } = hugeZero(() => {});
    expect(off.thp).toBe(0);
    expect(on.coverage).toBe(1);
    expect(on.faults.thp).toBeGreaterThan(0);
  });

  it('realloc-moves grows a block without allocating frames for its old bytes', () => {
    const r = reallocMoves(() => {});
    expect(r.heap.stats().heap.UFFDIO_MOVE).toBeGreaterThan(0);
    expect(r.proc.kernel.frames.allocated).toBe(r.framesBefore);
    expect(r.proc.read8(r.p + (4 << 20) - 1)).toBe(0x5a);
  });
});
