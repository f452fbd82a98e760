// The radix index behind find(): random adds and clears against a page-by-page model, over a
// window that straddles radix node boundaries, with ranges up to a TiB.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RangeIndex } from '../src/mm/range-index.js';

const P = 4096;
const BASE = 2 ** 38 - 300 * P; // straddles a 2^26-page (level) boundary
const PAGES = 600;

type Op = { add: boolean; v: number; page: number; n: number };

interface Named {
  name: string;
  rangeId: number;
}
const named = (name: string): Named => ({ name, rangeId: -1 });

describe('RangeIndex', () => {
  it('answers find() as a page-by-page model does, and frees every node once all is cleared', () => {
    const op = fc.record({
      add: fc.boolean(),
      v: fc.integer({ min: 0, max: 5 }),
      page: fc.integer({ min: 0, max: PAGES - 1 }),
      n: fc.integer({ min: 1, max: 200 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
        const values = Array.from({ length: 6 }, (_, i) => named(`v${i}`));
        const index = new RangeIndex<Named>();
        const model: (number | undefined)[] = new Array(PAGES).fill(undefined);
        for (const { add, v, page, n } of ops) {
          const end = Math.min(PAGES, page + n);
          if (add) index.add(values[v], BASE + page * P, BASE + end * P);
          else index.clear(values[v], BASE + page * P, BASE + end * P);
          for (let p = page; p < end; p++) {
            if (add) model[p] = v;
            else if (model[p] === v) model[p] = undefined;
          }
        }
        for (let p = 0; p < PAGES; p++) {
          const want = model[p] === undefined ? undefined : values[model[p]!];
          expect(index.find(BASE + p * P + 123)).toBe(want);
        }
        expect(index.find(BASE - 1)).toBeUndefined();
        for (const v of values) index.clear(v, BASE, BASE + PAGES * P, true);
        expect(index.nodeCount).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('holds a TiB range in a few nodes and splits it exactly', () => {
    const index = new RangeIndex<Named>();
    const [big, hole] = ['big', 'hole'].map(named);
    const start = 0x7f0000000000 - 2 ** 40;
    index.add(big, start, start + 2 ** 40);
    expect(index.nodeCount).toBeLessThan(8);
    index.clear(big, start + 2 ** 39, start + 2 ** 39 + P);
    index.add(hole, start + 2 ** 39, start + 2 ** 39 + P);
    expect(index.find(start + 2 ** 39 - 1)).toBe(big);
    expect(index.find(start + 2 ** 39)).toBe(hole);
    expect(index.find(start + 2 ** 39 + P)).toBe(big);
    expect(index.find(start + 2 ** 40)).toBeUndefined();
    expect(index.find(2 ** 64)).toBeUndefined();
    expect(index.nodeCount).toBeLessThan(16);
  });
});

describe('RangeIndex.rename', () => {
  it('hands a range to another value without rewriting it (a split keeps the larger part\'s slots)', () => {
    const index = new RangeIndex<Named>();
    const [v, hi] = ['v', 'hi'].map(named);
    const start = 2 ** 38;
    index.add(v, start, start + 1000 * P);
    const before = index.nodeCount;
    index.rename(v, hi);
    index.add(v, start, start + 10 * P); // the lower part gets a new id
    expect(index.find(start)).toBe(v);
    expect(index.find(start + 10 * P - 1)).toBe(v);
    expect(index.find(start + 10 * P)).toBe(hi);
    expect(index.find(start + 1000 * P - 1)).toBe(hi);
    expect(index.nodeCount).toBeLessThanOrEqual(before + 2);
    index.clear(hi, start + 10 * P, start + 1000 * P, true);
    index.clear(v, start, start + 10 * P, true);
    expect(index.find(start + 500 * P)).toBeUndefined();
    expect(index.nodeCount).toBe(0);
  });
});
