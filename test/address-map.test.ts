// AddressMap against a plain Map: the same answers under any mix of sets and deletes, including
// the allocator's pattern (one address freed and handed out again and again among many live ones).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressMap, AddressSet, NumberMap, PageMap } from '../src/alloc/address-map.js';

const key = fc.oneof(fc.nat(600), fc.nat(600).map((i) => 0x7fff00000000 + i * 16), fc.nat(600).map((i) => 2 ** 47 + i * 4096));

describe('AddressMap', () => {
  it.each([
    ['AddressMap', () => new AddressMap<number>()],
    ['NumberMap', () => new NumberMap()],
  ])('%s answers as a Map does under random sets and deletes', (_, make) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.nat()), { maxLength: 3000 }), (ops) => {
        const m = make();
        const model = new Map<number, number>();
        for (const [set, k, v] of ops) {
          if (set) {
            m.set(k, v);
            model.set(k, v);
          } else expect(m.delete(k)).toBe(model.delete(k));
          expect(m.get(k)).toBe(model.get(k));
        }
        expect(m.size).toBe(model.size);
        for (const [k, v] of model) expect([m.has(k), m.get(k)]).toEqual([true, v]);
        expect(new Map(m.entries())).toEqual(model);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps one reused key exact among many live ones, the table bounded by the live count', () => {
    const m = new AddressMap<number>();
    const s = new AddressSet();
    for (let i = 0; i < 10_000; i++) m.set(0x10000 + i * 16, i);
    for (let n = 0; n < 200_000; n++) {
      m.set(0x5000, n);
      s.add(0x5000 + (n % 7));
      expect(m.delete(0x5000)).toBe(true);
      s.delete(0x5000 + (n % 7));
    }
    expect([m.size, m.get(0x5000), m.get(0x10000 + 9_999 * 16), s.size, s.has(0x5000)]).toEqual([10_000, undefined, 9_999, 0, false]);
    expect((m as unknown as { table: { t: Float64Array } }).table.t.length).toBeLessThanOrEqual(2 * 32_768);
  });

  const page = fc.oneof(fc.nat(600).map((i) => i * 4096), fc.nat(600).map((i) => 0x7fff00000000 + i * 4096), fc.nat(600).map((i) => 2 ** 47 - 4096 - i * 2 ** 21));

  it('PageMap answers as a Map does for page-aligned addresses, in address order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2), page, fc.nat()), { maxLength: 3000 }), (ops) => {
        const m = new PageMap();
        const model = new Map<number, number>();
        for (const [op, k, v] of ops) {
          if (op === 0) {
            m.set(k, v);
            model.set(k, v);
          } else if (op === 1) expect(m.delete(k)).toBe(model.delete(k));
          else {
            expect(m.take(k)).toBe(model.get(k));
            model.delete(k);
          }
          expect(m.get(k)).toBe(model.get(k));
        }
        expect(m.size).toBe(model.size);
        expect([...m.entries()]).toEqual([...model].sort((a, b) => a[0] - b[0]));
        // a leaf (2 MiB of pages) is held only while it holds an entry
        expect(m.leaves).toBe(new Set([...model.keys()].map((k) => Math.floor(k / 2 ** 21))).size);
      }),
      { numRuns: 40 },
    );
  });

  it('PageMap holds no address that is not page-aligned below 2^48, and refuses to set one', () => {
    const m = new PageMap().set(0x10000, 5);
    for (const bad of [0x10001, 0x10000 + 0.5, -4096, 2 ** 48, 2 ** 60, NaN, Infinity]) {
      expect([m.get(bad), m.take(bad), m.has(bad)]).toEqual([undefined, undefined, false]);
      expect(() => m.set(bad, 1)).toThrow(RangeError);
    }
    expect([m.size, m.get(0x10000)]).toEqual([1, 5]);
  });
});
