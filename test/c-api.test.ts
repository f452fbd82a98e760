// Every allocator answers the malloc family's arguments as a C library does: sizes are size_t
// (negative means huge), an impossible request is NULL and the allocator stays usable, a failed
// realloc leaves its block, alignments are powers of two, and a value C could not pass is a
// TypeError naming the argument.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALLOCATORS } from '../src/experiment/allocators.js';
import { Process } from '../src/mm/process.js';

const NAMES = Object.keys(ALLOCATORS);
const make = (name: string) => {
  const p = new Process();
  return { p, a: ALLOCATORS[name].make(p) };
};

describe.each(NAMES)('%s', (name) => {
  it('answers impossible sizes with NULL and stays usable', () => {
    const { p, a } = make(name);
    const keep = a.malloc(5000);
    p.fill(keep, 5000, 3);
    const live = a.liveBytes;
    // 2^44 is 16 TiB: more than RAM for overcommit's heuristic (glibc's and mmap's private
    // writable mappings), more than the uffd heap; the guarded heap's NORESERVE spans are not
    // charged, so it may get it, as PartitionAlloc would. 2^50 is beyond the address space.
    const sizes = [-1, -5000, 2 ** 50, 2 ** 60, Number.MAX_SAFE_INTEGER, ...(name === 'guarded' ? [] : [2 ** 44])];
    for (const n of sizes) {
      expect(a.malloc(n), `malloc(${n})`).toBe(0);
      expect(a.calloc(n, 16), `calloc(${n}, 16)`).toBe(0);
      expect(a.calloc(16, n), `calloc(16, ${n})`).toBe(0);
      expect(a.alignedAlloc(64, n), `aligned_alloc(64, ${n})`).toBe(0);
      expect(a.realloc(keep, n), `realloc(p, ${n})`).toBe(0);
    }
    expect(a.calloc(2 ** 30, 2 ** 30)).toBe(0);
    expect(a.liveBytes).toBe(live);
    expect([p.read(keep, 1)[0], p.read(keep + 4999, 1)[0]]).toEqual([3, 3]);
    const q = a.malloc(100);
    expect(q).toBeGreaterThan(0);
    a.free(q);
    a.free(keep);
    expect(a.liveBytes).toBe(0);
  });

  it('takes only power-of-two alignments', () => {
    const { a } = make(name);
    for (const bad of [0, 3, 24, 4097]) expect(a.alignedAlloc(bad, 64), `aligned_alloc(${bad})`).toBe(0);
    for (const good of [8, 64, 4096, 1 << 16]) {
      const q = a.alignedAlloc(good, 100);
      expect(q % good, `aligned_alloc(${good})`).toBe(0);
      a.free(q);
    }
  });

  it('refuses what C could not pass with a TypeError naming the argument', () => {
    const { a } = make(name);
    const any = a as unknown as Record<string, (...x: unknown[]) => number>;
    for (const v of [NaN, Infinity, -Infinity, 1.5, '100', null, undefined, {}]) {
      expect(() => any.malloc(v), `malloc(${String(v)})`).toThrow(/malloc: size must be a whole number/);
      expect(() => any.calloc(v, 1)).toThrow(/calloc: nmemb must be a whole number/);
      expect(() => any.calloc(1, v)).toThrow(/calloc: size must be a whole number/);
      expect(() => any.alignedAlloc(v, 1)).toThrow(/aligned_alloc: alignment must be a whole number/);
    }
    expect(a.liveBytes).toBe(0);
    expect(a.malloc(10)).toBeGreaterThan(0);
  });

  it('fuzz: random arguments never break the allocator or a live block', () => {
    const arg = fc.oneof(
      fc.integer({ min: 0, max: 300_000 }),
      fc.constantFrom(-1, -4096, 2 ** 40, 2 ** 53, 2 ** 64, 0.5, NaN, 3, 24),
      fc.integer({ min: -(2 ** 31), max: -1 }),
    );
    const op = fc.record({ k: fc.constantFrom('malloc', 'calloc', 'aligned', 'realloc', 'free'), x: arg, y: arg, i: fc.nat() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { p, a } = make(name);
        const live: { ptr: number; n: number; byte: number }[] = [];
        const fillIt = (ptr: number, n: number) => {
          const byte = 1 + (live.length % 250);
          if (n > 0) p.fill(ptr, Math.min(n, 8192), byte);
          live.push({ ptr, n: Math.min(n, 8192), byte });
        };
        for (const o of ops) {
          let r = 0;
          try {
            if (o.k === 'malloc') r = a.malloc(o.x);
            else if (o.k === 'calloc') r = a.calloc(o.x, o.y % 64);
            else if (o.k === 'aligned') r = a.alignedAlloc(o.y, o.x);
            else if (o.k === 'free' && live.length) {
              a.free(live.splice(o.i % live.length, 1)[0].ptr);
              continue;
            } else if (o.k === 'realloc' && live.length) {
              const b = live[o.i % live.length];
              r = a.realloc(b.ptr, o.x);
              if (r || o.x === 0) live.splice(live.indexOf(b), 1);
              if (r) {
                const keep = Math.min(b.n, o.x);
                if (keep) expect(p.read(r, 1)[0]).toBe(b.byte);
                fillIt(r, o.x);
              }
              continue;
            }
          } catch (e) {
            expect(e).toBeInstanceOf(TypeError);
            continue;
          }
          if (r) fillIt(r, o.k === 'calloc' ? o.x * (o.y % 64) : o.x);
        }
        for (const b of live) if (b.n) expect([p.read(b.ptr, 1)[0], p.read(b.ptr + b.n - 1, 1)[0]]).toEqual([b.byte, b.byte]);
        expect(a.malloc(64)).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('guarded direct maps', () => {
  it('realloc a 1 TiB block (NORESERVE, never charged) without copying it, and grow one by moving its pages', () => {
    const { p, a } = make('guarded');
    const huge = a.malloc(2 ** 40);
    expect(huge).not.toBe(0);
    expect(a.realloc(huge, 2 ** 40)).toBe(huge); // fits its mapping: in place
    const big = a.malloc(300_000);
    p.fill(big, 300_000, 7);
    const moved = a.realloc(big, 900_000);
    expect(moved).not.toBe(0);
    expect(Array.from(p.read(moved + 299_998, 2))).toEqual([7, 7]);
    p.fill(moved + 300_000, 600_000, 8); // the grown part is writable
    // guard pages on both sides (the moved pages keep their own VMA: its pgoff is where they came from)
    expect(() => p.read(moved - 1, 1)).toThrow(/SIGSEGV/);
    expect(() => p.read(moved + 900_000 + 4096 - (900_000 % 4096), 1)).toThrow(/SIGSEGV/);
    expect(() => p.read(big, 1)).toThrow(/SIGSEGV/); // the old place is gone
    a.free(moved);
    a.free(huge);
  });
});
