// The VMA index's B+tree against a sorted-array model, through random inserts and deletes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberBTree } from '../src/mm/btree.js';

describe('NumberBTree', () => {
  it('answers floor, lower, higher and ordered walks like a sorted array', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 3000 }), (ops) => {
        const t = new NumberBTree<number>();
        const model = new Set<number>();
        for (const [add, k] of ops) {
          if (add) {
            t.set(k, k * 2);
            model.add(k);
          } else expect(t.delete(k)).toBe(model.delete(k));
        }
        const sorted = [...model].sort((a, b) => a - b);
        expect(t.size).toBe(sorted.length);
        expect([...t.entries()].map(([k]) => k)).toEqual(sorted);
        expect([...t.entriesReversed()].map(([k]) => k)).toEqual([...sorted].reverse());
        for (let q = -1; q <= 3001; q += 7) {
          const floor = sorted.filter((k) => k <= q).pop();
          const lower = sorted.filter((k) => k < q).pop();
          const higher = sorted.find((k) => k > q);
          expect([t.floor(q), t.lower(q), t.higher(q)]).toEqual([floor, lower, higher].map((k) => (k === undefined ? undefined : k * 2)));
        }
      }),
      { numRuns: 60 },
    );
  });
});
