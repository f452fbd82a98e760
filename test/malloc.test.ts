// malloc with C semantics on the single-VMA heap, its errors, its stats, and a property test of
// every live block's bytes against a model through random malloc/realloc/free sequences.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeapError, UffdMalloc } from '../src/alloc/index.js';
import { Process } from '../src/mm/process.js';

function setup(opts = {}) {
  const p = new Process();
  const m = new UffdMalloc(p, { size: 1 << 30, ...opts });
  return { p, m };
}

describe('malloc family', () => {
  it('follows C: malloc(0) is unique, realloc(NULL) mallocs, realloc(p, 0) frees, calloc zeroes', () => {
    const { p, m } = setup();
    const a = m.malloc(0);
    const b = m.malloc(0);
    expect(a).not.toBe(0);
    expect(a).not.toBe(b);
    const c = m.realloc(0, 100);
    expect(m.usableSize(c)).toBeGreaterThanOrEqual(100);
    p.fill(c, 100, 0xff);
    m.free(c);
    const z = m.calloc(10, 10); // likely the slot c had: must read as zero
    expect(Array.from(p.read(z, 100)).every((x) => x === 0)).toBe(true);
    expect(m.realloc(z, 0)).toBe(0);
    expect(() => m.free(z)).toThrow(HeapError);
    expect(m.calloc(2 ** 40, 2 ** 40)).toBe(0);
    m.free(0);
  });

  it('aligns aligned_alloc and posix_memalign, refusing bad alignments', () => {
    const { m } = setup();
    for (const align of [32, 64, 256, 4096, 65536, 1 << 21]) {
      const q = m.alignedAlloc(align, 100);
      expect(q % align).toBe(0);
    }
    expect(m.alignedAlloc(24, 10)).toBe(0);
    expect(m.posixMemalign(4, 8)).toEqual([22, 0]);
    const [err, q] = m.posixMemalign(128, 3000);
    expect(err).toBe(0);
    expect(q % 128).toBe(0);
  });

  it('refuses realloc and malloc_usable_size of a freed slot its thread cache holds', () => {
    const { m } = setup();
    m.setThread(0);
    const a = m.malloc(40);
    m.free(a);
    expect(() => m.realloc(a, 10)).toThrow(expect.objectContaining({ kind: 'invalid-pointer', ptr: a }));
    expect(() => m.usableSize(a)).toThrow(expect.objectContaining({ kind: 'invalid-pointer', ptr: a }));
    expect(() => m.free(a)).toThrow(expect.objectContaining({ kind: 'double-free', ptr: a }));
    expect(m.malloc(40)).toBe(a); // the cached slot is handed out again, live
    expect(m.usableSize(a)).toBeGreaterThanOrEqual(40);
  });

  it('reports invalid pointers and double frees as typed errors and stays usable', () => {
    const { p, m } = setup();
    const a = m.malloc(40);
    const big = m.malloc(5 << 20);
    expect(() => m.free(a + 8)).toThrow(expect.objectContaining({ kind: 'invalid-pointer', ptr: a + 8 }));
    expect(() => m.free(0x1234)).toThrow(expect.objectContaining({ kind: 'invalid-pointer' }));
    m.free(a);
    expect(() => m.free(a)).toThrow(expect.objectContaining({ kind: 'double-free', ptr: a }));
    m.free(big);
    expect(() => m.free(big)).toThrow(expect.objectContaining({ kind: 'double-free' }));
    expect(() => m.realloc(a, 10)).toThrow(HeapError);
    const b = m.malloc(40);
    p.fill(b, 40, 1);
    expect(p.read8(b + 39)).toBe(1);
  });

  it('returns NULL when the heap is exhausted', () => {
    const { m } = setup({ size: 8 << 20 });
    expect(m.malloc(16 << 20)).toBe(0);
    const a = m.malloc(100);
    expect(a).not.toBe(0);
  });

  it('moves large blocks with UFFDIO_MOVE on realloc, keeping their bytes', () => {
    const { p, m } = setup();
    const a = m.malloc(3 << 20);
    p.fill(a, 3 << 20, 0x42);
    m.malloc(2 << 20); // something after it
    const moves = m.heap.counters.UFFDIO_MOVE;
    const b = m.realloc(a, 8 << 20);
    expect(m.heap.counters.UFFDIO_MOVE).toBeGreaterThan(moves);
    expect(p.read8(b + (3 << 20) - 1)).toBe(0x42);
    expect(p.read8(b + (3 << 20))).toBe(0);
  });

  it('packs small objects into few 2 MiB segments and gives them back whole', () => {
    const { p, m } = setup();
    const ptrs: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const q = m.malloc(16 + (i % 64) * 8);
      p.write8(q, 1);
      ptrs.push(q);
    }
    const s1 = m.stats();
    expect(s1.segments).toBeLessThanOrEqual(6);
    expect(s1.slabOccupancy).toBeGreaterThan(0.6);
    for (const q of ptrs) m.free(q);
    const s2 = m.stats();
    expect(s2.liveBytes).toBe(0);
    expect(s2.segments).toBe(0);
    expect(s2.rssBytes).toBeLessThanOrEqual(2 * 1024 * 1024); // only the one retained segment
    expect(s2.heap.munmap).toBeGreaterThan(0);
  });
});

type Op = { k: 'malloc'; size: number } | { k: 'calloc'; size: number } | { k: 'free'; i: number } | { k: 'realloc'; i: number; size: number };

const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 300, max: 40000 }), fc.integer({ min: 40000, max: 3 << 20 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('malloc' as const), size }),
  fc.record({ k: fc.constant('calloc' as const), size }),
  fc.record({ k: fc.constant('free' as const), i: fc.nat() }),
  fc.record({ k: fc.constant('realloc' as const), i: fc.nat(), size }),
);

describe('random malloc/realloc/free', () => {
  it('keeps every live block holding exactly its pattern', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), fc.boolean(), (ops, huge) => {
        const { p, m } = setup({ hugeZeroPage: huge });
        const live: { ptr: number; size: number; byte: number }[] = [];
        let tag = 1;
        const stamp = (ptr: number, n: number, byte: number) => {
          // the first and last 64 bytes and one in the middle carry the pattern
          p.fill(ptr, Math.min(n, 64), byte);
          if (n > 64) p.fill(ptr + n - 64, 64, byte);
          if (n > 128) p.write8(ptr + (n >> 1), byte);
        };
        for (const o of ops) {
          if (o.k === 'malloc' || o.k === 'calloc') {
            const ptr = o.k === 'malloc' ? m.malloc(o.size) : m.calloc(1, o.size);
            expect(ptr).not.toBe(0);
            if (o.k === 'calloc' && o.size > 0) expect([p.read8(ptr), p.read8(ptr + o.size - 1)]).toEqual([0, 0]);
            const byte = tag++ & 0xff || 1;
            stamp(ptr, o.size, byte);
            live.push({ ptr, size: o.size, byte });
          } else if (live.length) {
            const j = o.i % live.length;
            const b = live[j];
            if (o.k === 'free') {
              m.free(b.ptr);
              live.splice(j, 1);
            } else {
              const ptr = m.realloc(b.ptr, o.size);
              if (o.size === 0) {
                live.splice(j, 1);
                continue;
              }
              const keep = Math.min(b.size, o.size);
              if (keep > 0) expect(p.read8(ptr)).toBe(b.byte);
              const byte = tag++ & 0xff || 1;
              stamp(ptr, o.size, byte);
              live[j] = { ptr, size: o.size, byte };
            }
          }
          for (const b of live) {
            if (b.size === 0) continue;
            const got = [p.read8(b.ptr), p.read8(b.ptr + b.size - 1), p.read8(b.ptr + (b.size > 128 ? b.size >> 1 : 0))];
            expect(got).toEqual([b.byte, b.byte, b.byte]);
          }
          const lo = new Set(live.map((b) => b.ptr));
          expect(lo.size).toBe(live.length);
        }
        expect(m.liveBytes).toBe(live.reduce((s, b) => s + b.size, 0));
        p.mm.checkInvariants();
      }),
      { numRuns: 60 },
    );
  });
});

describe("free()'s slab lookup", () => {
  it('answers the same through the flat slab table and through segments (slabTableBytes 0)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }), (ops) => {
        const runs = [setup(), setup({ slabTableBytes: 0 })].map(({ p, m }) => {
          m.setThread(0);
          const live: number[] = [];
          const freed: number[] = [];
          const out: (number | string)[] = [];
          const attempt = (f: () => number | void) => {
            try {
              out.push(f() ?? 'ok');
            } catch (e) {
              out.push((e as HeapError).kind ?? String(e));
            }
          };
          for (const o of ops) {
            if (o.k === 'malloc' || o.k === 'calloc') {
              const ptr = o.k === 'malloc' ? m.malloc(o.size) : m.calloc(1, o.size);
              out.push(ptr);
              live.push(ptr);
            } else if (o.k === 'free' && freed.length && o.i % 3 === 0) {
              attempt(() => m.free(freed[o.i % freed.length])); // a double free, or a slot reused since
            } else if (live.length) {
              const [ptr] = live.splice(o.i % live.length, 1);
              if (o.k === 'free') {
                attempt(() => m.free(ptr));
                freed.push(ptr);
              } else {
                attempt(() => m.realloc(ptr, o.size));
                if (typeof out.at(-1) === 'number' && out.at(-1) !== 0) live.push(out.at(-1) as number);
              }
            }
            attempt(() => m.usableSize(ptr0(live)));
          }
          p.mm.checkInvariants();
          return { out, live: m.liveBytes, stats: m.stats().segments };
        });
        expect(runs[1]).toEqual(runs[0]);
      }),
      { numRuns: 60 },
    );
  });
});

function ptr0(live: number[]): number {
  return live.length ? live[live.length - 1] : 0;
}

describe('malloc options', () => {
  it('refuses a count that is not a whole number, 0 or more, naming it, and takes 0', () => {
    for (const name of ['threadCache', 'retainEmptySegments', 'releaseBatch', 'slabTableBytes'] as const) {
      for (const bad of [-1, 1.5, NaN, Infinity, '3' as unknown as number]) {
        expect(() => setup({ [name]: bad }), `${name} ${String(bad)}`).toThrow(new RegExp(`UffdMalloc: ${name} must be a whole number`));
      }
      const { m } = setup({ [name]: 0 });
      m.setThread(0);
      const p = m.malloc(100);
      m.free(p);
      expect(m.malloc(100)).toBe(p);
    }
  });
});

describe('requests the heap cannot meet', () => {
  it('return 0 (NULL), leave the heap usable and a failed realloc leaves its block as it was', () => {
    const { p, m } = setup();
    for (const n of [100, 100_000, 4 << 20]) {
      const a = m.malloc(n);
      p.fill(a, n, 7);
      // 2^44 and more: 2^32 pages and up once picked a wrong free-range bin and broke the heap
      for (const big of [2 ** 44, 2 ** 50, 2 ** 36 + 4096]) {
        expect(m.malloc(big)).toBe(0);
        expect(m.realloc(a, big)).toBe(0);
        expect([p.read(a, 1)[0], p.read(a + n - 1, 1)[0]]).toEqual([7, 7]);
      }
      m.free(a);
    }
    expect(m.calloc(2 ** 30, 2 ** 30)).toBe(0);
    const q = m.malloc(100);
    expect(q).toBeGreaterThan(0);
    expect(m.malloc(256 << 20)).toBeGreaterThan(0); // a quarter of the 1 GiB heap still fits
  });
});
