// Syscalls with arguments a C caller could pass (negative lengths are huge size_t values,
// addresses anywhere, odd flags) and some it could not (fractions, NaN): every call succeeds or
// fails with a typed Errno, and after every call the mm's invariants hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP, UFFD_FEATURE_SIGBUS } from '../src/mm/userfaultfd/uapi.js';

const P = 4096;
const BASE = 0x40000000;
const addr = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map((p) => BASE + p * P),
  fc.constantFrom(0, -P, -1, 1, BASE + 1, 2 ** 47 - P, 2 ** 47, 2 ** 64 - P, 2 ** 64, 2 ** 53, 0.5, NaN, Infinity),
);
const length = fc.oneof(
  fc.integer({ min: 0, max: 16 }).map((n) => n * P),
  fc.constantFrom(-P, -1, 1, P - 1, 2 ** 40, 2 ** 47, 2 ** 63, 2 ** 64 - P, 1.5, NaN, -Infinity, 64 << 30),
);
const small = fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom(0x7fffffff, -0x80000000, 2 ** 40, 0.5, NaN));

type Call = [string, unknown[]];
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(fc.constant('mmap'), fc.tuple(addr, length, small, fc.constantFrom(U.MAP_PRIVATE | U.MAP_ANONYMOUS, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_FIXED, U.MAP_SHARED | U.MAP_ANONYMOUS, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_NORESERVE | U.MAP_FIXED_NOREPLACE, 0, -1))),
  fc.tuple(fc.constant('munmap'), fc.tuple(addr, length)),
  fc.tuple(fc.constant('mprotect'), fc.tuple(addr, length, small)),
  fc.tuple(fc.constant('madvise'), fc.tuple(addr, length, small)),
  fc.tuple(fc.constant('mremap'), fc.tuple(addr, length, length, fc.constantFrom(0, U.MREMAP_MAYMOVE, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, 7), addr)),
  fc.tuple(fc.constant('brk'), fc.tuple(addr)),
  fc.tuple(fc.constant('uffdRegister'), fc.tuple(fc.constant('fd'), addr, length, fc.constantFrom(UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP, 0, 9))),
  fc.tuple(fc.constant('uffdZeropage'), fc.tuple(fc.constant('fd'), addr, length, small)),
  fc.tuple(fc.constant('uffdMove'), fc.tuple(fc.constant('fd'), addr, addr, length, small)),
  fc.tuple(fc.constant('uffdPoison'), fc.tuple(fc.constant('fd'), addr, length)),
  fc.tuple(fc.constant('uffdUnregister'), fc.tuple(fc.constant('fd'), addr, length)),
);

describe('syscalls with arbitrary arguments', () => {
  it('return an Errno or succeed, and keep the invariants after every call', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 30 }), (calls) => {
        const p = new Process();
        p.mmap(BASE, 32 * P, U.PROT_READ | U.PROT_WRITE, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_FIXED);
        p.fill(BASE, 8 * P, 7);
        const fd = p.userfaultfd();
        p.uffdApi(fd, UFFD_FEATURE_SIGBUS);
        const proc = p as unknown as Record<string, (...a: unknown[]) => unknown>;
        for (const [name, args] of calls) {
          try {
            proc[name](...args.map((a) => (a === 'fd' ? fd : a)));
          } catch (e) {
            if (!(e instanceof U.Errno)) throw new Error(`${name}(${args.join(', ')}) threw ${String(e)}`);
          }
          p.mm.checkInvariants();
          for (const v of p.mm.vmas) {
            expect(v.start, `${name}(${args.join(', ')})`).toBeGreaterThanOrEqual(0);
            expect(v.end).toBeLessThanOrEqual(U.TASK_SIZE);
            expect(Number.isInteger(v.start) && Number.isInteger(v.end)).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('user-memory accesses with arbitrary arguments', () => {
  it('complete or raise a SignalError (never anything else), and keep the invariants', () => {
    const access = fc.oneof(
      fc.tuple(fc.constant('copy'), fc.tuple(addr, addr, length)),
      fc.tuple(fc.constant('fill'), fc.tuple(addr, length, small)),
      fc.tuple(fc.constant('read8'), fc.tuple(addr)),
      fc.tuple(fc.constant('write8'), fc.tuple(addr, small)),
    );
    fc.assert(
      fc.property(fc.array(access, { minLength: 1, maxLength: 20 }), (calls) => {
        const p = new Process();
        p.mmap(BASE, 32 * P, U.PROT_READ | U.PROT_WRITE, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_FIXED);
        p.mprotect(BASE + 8 * P, P, U.PROT_READ);
        const proc = p as unknown as Record<string, (...a: unknown[]) => unknown>;
        for (const [name, args] of calls) {
          try {
            proc[name](...args);
          } catch (e) {
            if (!(e instanceof U.SignalError)) throw new Error(`${name}(${args.join(', ')}) threw ${String(e)}`);
          }
          p.mm.checkInvariants();
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('modPow2', () => {
  it('is x % m for every number and power of two (addresses, negatives, fractions, 2^64, NaN, ±Infinity, -0)', () => {
    const x = fc.oneof(fc.double(), fc.integer({ min: 0, max: 2 ** 47 }).map((p) => p * 4096 + (p % 4096)), fc.constantFrom(2 ** 64, 2 ** 64 - 2048, -0, 0, 4096, -4096, NaN, Infinity, -Infinity));
    fc.assert(
      fc.property(x, fc.integer({ min: 0, max: 30 }), (v, k) => {
        expect(Object.is(U.modPow2(v, 2 ** k), v % 2 ** k)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
