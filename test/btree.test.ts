// The VMA index's B+tree against a sorted-array model, through random inserts, deletes and keys
// moved down in place (a VMA growing down keeps its place in the order).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberBTree } from '../src/mm/btree.js';

describe('NumberBTree', () => {
  it('answers floor, lower, higher and ordered walks like a sorted array, keys moved in place included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'add', 'delete', 'move', 'moveUp'), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 3000 }), (ops) => {
        const t = new NumberBTree<number>();
        const model = new Map<number, number>();
        for (const [op, k] of ops) {
          if (op === 'add') {
            t.set(k, k * 2);
            model.set(k, k * 2);
          } else if (op === 'delete') expect(t.delete(k)).toBe(model.delete(k));
          else if (op === 'moveUp') {
            // move the last key at or below k up to halfway between it and the key above
            const keys = [...model.keys()].sort((a, b) => a - b);
            let j = keys.length - 1;
            while (j >= 0 && keys[j] > k) j--;
            if (j < 0) continue;
            const above = j + 1 < keys.length ? keys[j + 1] : 3100;
            const to = Math.ceil((keys[j] + above) / 2) - 1;
            if (to <= keys[j]) continue;
            expect(t.moveKeyUp(keys[j], to)).toBeGreaterThanOrEqual(0);
            model.set(to, model.get(keys[j])!);
            model.delete(keys[j]);
          } else {
            // move the first key at or above k down to halfway between it and the key below
            const keys = [...model.keys()].sort((a, b) => a - b);
            const j = keys.findIndex((x) => x >= k);
            if (j < 0) continue;
            const below = j > 0 ? keys[j - 1] : -1;
            const to = Math.floor((below + keys[j]) / 2) + 1;
            if (to >= keys[j]) continue;
            // by key, or (a walk found it) by slot
            if (k % 2) expect(t.moveKeyDown(keys[j], to)).toBeGreaterThanOrEqual(0);
            else t.moveKeyDownAt(t.floorSlot(keys[j]), to);
            model.set(to, model.get(keys[j])!);
            model.delete(keys[j]);
          }
        }
        const sorted = [...model.keys()].sort((a, b) => a - b);
        expect(t.size).toBe(sorted.length);
        expect([...t.entries()].map(([k, v]) => [k, v])).toEqual(sorted.map((k) => [k, model.get(k)]));
        const down: number[] = [];
        for (let slot = t.lastSlot(); slot >= 0; slot = t.prevSlot(slot)) down.push(t.keyAt(slot));
        expect(down).toEqual([...sorted].reverse());
        expect(t.moveKeyDown(3001, 3000)).toBe(-1);
        for (let q = -1; q <= 3001; q += 7) {
          const floor = sorted.filter((k) => k <= q).pop();
          const lower = sorted.filter((k) => k < q).pop();
          const higher = sorted.find((k) => k > q);
          expect([t.floor(q), t.lower(q), t.higher(q)]).toEqual([floor, lower, higher].map((k) => (k === undefined ? undefined : model.get(k))));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('works by remembered slots like by keys: holds() tells a good slot from a stale one', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'after', 'deleteAt', 'upAt', 'downAt'), fc.integer({ min: 0, max: 20000 })), { minLength: 1, maxLength: 2500 }), (ops) => {
        const t = new NumberBTree<number>();
        const model = new Map<number, number>();
        // slots remembered per key as a caller would keep them, gone stale as the tree changed
        const seen = new Map<number, number>();
        const sorted = () => [...model.keys()].sort((a, b) => a - b);
        for (const [op, k] of ops) {
          if (op === 'add') {
            t.set(k, k + 1);
            model.set(k, k + 1);
            continue;
          }
          const keys = sorted();
          const j = keys.findIndex((x) => x >= k);
          if (j < 0) continue;
          const key = keys[j];
          const old = seen.get(key);
          const slot = t.floorSlot(key);
          // a stale slot never passes for the entry; the slot found now always does
          if (old !== undefined && old !== slot) expect(t.holds(old, key, model.get(key)!)).toBe(false);
          expect(t.holds(slot, key, model.get(key)!)).toBe(true);
          const below = j > 0 ? keys[j - 1] : -1;
          const above = j + 1 < keys.length ? keys[j + 1] : 20001;
          if (op === 'after') {
            const nk = Math.floor((key + above) / 2);
            if (nk === key) continue;
            const s = t.insertAfter(slot, nk, nk + 1);
            if (s >= 0) expect(t.keyAt(s)).toBe(nk);
            model.set(nk, nk + 1);
          } else if (op === 'deleteAt') {
            t.deleteAt(slot);
            model.delete(key);
          } else {
            const to = op === 'upAt' ? Math.ceil((key + above) / 2) - 1 : Math.floor((below + key) / 2) + 1;
            if (to === key || to < 0) continue;
            const s = op === 'upAt' ? t.moveKeyUpAt(slot, to) : t.moveKeyDownAt(slot, to);
            expect(t.keyAt(s)).toBe(to);
            model.set(to, model.get(key)!);
            model.delete(key);
            seen.set(to, s);
          }
          seen.set(key, slot);
        }
        const keys = sorted();
        expect(t.size).toBe(keys.length);
        expect([...t.entries()].map(([k, v]) => [k, v])).toEqual(keys.map((k) => [k, model.get(k)]));
        for (let q = -1; q <= 20001; q += 37) {
          expect([t.floor(q), t.higher(q)]).toEqual([keys.filter((k) => k <= q).pop(), keys.find((k) => k > q)].map((k) => (k === undefined ? undefined : model.get(k))));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('finds a key moved up past the stale separator a deleted minimum leaves', () => {
    const t = new NumberBTree<number>();
    for (let k = 0; k < 5000; k += 10) t.set(k, k);
    // keys added in order fill each leaf: the second leaf starts at 480, its separator too
    const secondLeaf = [...t.entries()].map(([k]) => k).find((k, i) => i === 48)!;
    t.delete(secondLeaf); // the separator stays at the old minimum
    expect(t.moveKeyUp(secondLeaf - 10, secondLeaf + 5)).toBeGreaterThanOrEqual(0);
    expect([t.get(secondLeaf + 5), t.floor(secondLeaf + 9), t.lower(secondLeaf + 5), t.higher(secondLeaf + 5)]).toEqual([secondLeaf - 10, secondLeaf - 10, secondLeaf - 20, secondLeaf + 10]);
    t.set(secondLeaf + 7, 1);
    expect([...t.entries()].map(([k]) => k).slice(46, 50)).toEqual([secondLeaf - 20, secondLeaf + 5, secondLeaf + 7, secondLeaf + 10]);
  });

  it('by slot as by key past a stale separator: a leaf\'s last entry moved up, or a key added after it', () => {
    for (const how of ['up', 'after'] as const) {
      const t = new NumberBTree<number>();
      for (let k = 0; k < 5000; k += 10) t.set(k, k);
      const secondLeaf = [...t.entries()].map(([k]) => k)[48];
      t.delete(secondLeaf); // the separator stays at the old minimum
      t.delete(10); // room in the first leaf, filled in order
      const last = t.floorSlot(secondLeaf - 10);
      if (how === 'up') t.moveKeyUpAt(last, secondLeaf + 5);
      else t.insertAfter(last, secondLeaf + 5, -1);
      expect([t.get(secondLeaf + 5), t.floor(secondLeaf + 9), t.higher(secondLeaf + 5)]).toEqual([how === 'up' ? secondLeaf - 10 : -1, how === 'up' ? secondLeaf - 10 : -1, secondLeaf + 10]);
      // a search by key (delete's) goes down the separators: it must reach the entry's leaf
      expect(t.delete(secondLeaf + 5)).toBe(true);
    }
  });

  it('does not take the stale copy a delete leaves past a leaf\'s end for the entry', () => {
    const t = new NumberBTree<number>();
    for (let k = 0; k < 5000; k += 10) t.set(k, k);
    const lastOfFirst = [...t.entries()].map(([k]) => k)[47];
    const old = t.floorSlot(lastOfFirst);
    t.deleteAt(t.floorSlot(0)); // the leaf's entries shift down by one
    expect(t.holds(old, lastOfFirst, lastOfFirst)).toBe(false);
    expect(t.holds(old - 1, lastOfFirst, lastOfFirst)).toBe(true);
    expect(t.floorSlot(lastOfFirst)).toBe(old - 1);
  });

  it('moves a leaf\'s first key down by slot with the separators above it', () => {
    const t = new NumberBTree<number>();
    for (let k = 0; k < 5000; k += 10) t.set(k, k);
    const secondLeaf = [...t.entries()].map(([k]) => k)[48];
    t.moveKeyDownAt(t.floorSlot(secondLeaf), secondLeaf - 5);
    expect([t.get(secondLeaf - 5), t.floor(secondLeaf - 3), t.lower(secondLeaf - 5), t.higher(secondLeaf - 6)]).toEqual([secondLeaf, secondLeaf, secondLeaf - 10, secondLeaf]);
  });
});
