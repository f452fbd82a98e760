// Argument checks: every misuse returns Linux's errno as a typed Errno and changes nothing.
import { describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { BASE, FIXED, PRIV_ANON, RW } from './helpers/layout.js';

const P = 4096;

function setup() {
  const p = new Process();
  p.mmap(BASE, 16 * P, RW, FIXED);
  p.fill(BASE, 16 * P, 0x5a);
  p.mprotect(BASE + 4 * P, P, U.PROT_READ);
  return p;
}

function snapshot(p: Process) {
  return { maps: p.readProc('/proc/self/maps'), rss: p.mm.rss, bytes: Array.from(p.read(BASE, 16 * P).subarray(0, 64)) };
}

const cases: [string, U.ErrnoName, (p: Process) => unknown][] = [
  ['mmap with length 0', 'EINVAL', (p) => p.mmap(0, 0, RW, PRIV_ANON)],
  ['mmap with an unaligned MAP_FIXED address', 'EINVAL', (p) => p.mmap(BASE + 1, P, RW, FIXED)],
  ['mmap with an unaligned offset', 'EINVAL', (p) => p.mmap(0, P, RW, PRIV_ANON, -1, 100)],
  ['mmap without a map type', 'EINVAL', (p) => p.mmap(0, P, RW, U.MAP_ANONYMOUS)],
  ['mmap of a file with a bad fd', 'EBADF', (p) => p.mmap(0, P, RW, U.MAP_PRIVATE, 99)],
  ['mmap FIXED_NOREPLACE over a mapping', 'EEXIST', (p) => p.mmap(BASE, P, RW, U.MAP_FIXED_NOREPLACE | PRIV_ANON)],
  ['mmap of more than the address space', 'ENOMEM', (p) => p.mmap(0, 2 ** 48, RW, PRIV_ANON)],
  ['munmap of an unaligned address', 'EINVAL', (p) => p.munmap(BASE + 1, P)],
  ['munmap of length 0', 'EINVAL', (p) => p.munmap(BASE, 0)],
  ['munmap past the top of user space', 'EINVAL', (p) => p.munmap(U.TASK_SIZE - P, 2 * P)],
  ['mprotect of an unaligned address', 'EINVAL', (p) => p.mprotect(BASE + 1, P, U.PROT_READ)],
  ['mprotect with unknown bits', 'EINVAL', (p) => p.mprotect(BASE, P, 0x100)],
  ['mprotect of an unmapped range', 'ENOMEM', (p) => p.mprotect(BASE + 32 * P, P, U.PROT_READ)],
  ['madvise with unknown advice', 'EINVAL', (p) => p.madvise(BASE, P, 9999)],
  ['madvise of an unaligned address', 'EINVAL', (p) => p.madvise(BASE + 1, P, U.MADV_DONTNEED)],
  ['madvise of an unmapped range', 'ENOMEM', (p) => p.madvise(BASE + 32 * P, P, U.MADV_DONTNEED)],
  ['MADV_FREE of a shared mapping', 'EINVAL', (p) => {
    const a = p.mmap(0, P, RW, U.MAP_SHARED | U.MAP_ANONYMOUS);
    p.mm.lock.take();
    return p.madvise(a, P, U.MADV_FREE);
  }],
  ['mremap with unknown flags', 'EINVAL', (p) => p.mremap(BASE, P, 2 * P, 0x80)],
  ['mremap FIXED without MAYMOVE', 'EINVAL', (p) => p.mremap(BASE, P, P, U.MREMAP_FIXED, BASE + 64 * P)],
  ['mremap DONTUNMAP with a new size', 'EINVAL', (p) => p.mremap(BASE, P, 2 * P, U.MREMAP_MAYMOVE | U.MREMAP_DONTUNMAP)],
  ['mremap to a new length of 0', 'EINVAL', (p) => p.mremap(BASE, P, 0)],
  ['mremap onto an overlapping range', 'EINVAL', (p) => p.mremap(BASE, 2 * P, 2 * P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, BASE + P)],
  ['mremap of an unmapped address', 'EFAULT', (p) => p.mremap(BASE + 32 * P, P, 2 * P, U.MREMAP_MAYMOVE)],
  ['mremap across two VMAs', 'EFAULT', (p) => p.mremap(BASE + 3 * P, 2 * P, 4 * P, U.MREMAP_MAYMOVE)],
  ['mremap growing without room or MAYMOVE', 'ENOMEM', (p) => p.mremap(BASE + 4 * P, P, 2 * P)],
];

describe('bad input', () => {
  for (const [what, code, call] of cases) {
    it(`${what}: ${code}, nothing changed`, () => {
      const p = setup();
      const shared = what.includes('shared');
      const before = shared ? null : snapshot(p);
      let err: unknown;
      try {
        call(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(U.Errno);
      expect((err as U.Errno).code).toBe(code);
      expect((err as U.Errno).errno).toBe(U.ERRNO[code]);
      if (before) expect(snapshot(p)).toEqual(before);
    });
  }
});

describe('brk', () => {
  it('grows a [heap] VMA, shrinks it with munmap semantics and refuses to go below start_brk', () => {
    const p = new Process();
    const start = p.brk(0);
    expect(start).toBe(p.mm.startBrk);
    expect(p.sbrk(3 * P)).toBe(start);
    p.write8(start + 2 * P, 9);
    expect(p.readProc('/proc/self/maps')).toMatch(/rw-p 00000000 00:00 0 {26}\[heap\]\n$/);
    p.mm.lock.take();
    expect(p.brk(start + P)).toBe(start + P);
    expect(p.mm.lock.take()).toMatchObject({ write: 1, read: 1 });
    expect(() => p.read8(start + 2 * P)).toThrow(U.SignalError);
    expect(p.brk(start - P)).toBe(start + P);
    expect(p.brk(start + 2 * P)).toBe(start + 2 * P);
    expect(p.read8(start + P)).toBe(0);
  });
});

describe('the VMA last found (VmaTree.recent)', () => {
  it('answers only for what it covers now: after a munmap, a hole, a trim or a merge, lookups see the change', () => {
    const P = U.PAGE_SIZE;
    const p = new Process();
    const at = p.mmap(BASE, 8 * P, RW, FIXED);
    p.write8(at + 3 * P, 1); // the VMA is now the one last found
    p.munmap(at + 3 * P, P); // a hole in it
    expect(() => p.read8(at + 3 * P)).toThrow(/SIGSEGV/);
    expect(p.read8(at + 4 * P)).toBe(0);
    expect(p.mm.vmas.find(at + 2 * P)!.end).toBe(at + 3 * P);
    p.munmap(at, P); // the lower part loses its first page
    expect(p.mm.vmas.find(at)).toBeNull();
    expect(p.mm.vmas.findFrom(at)!.start).toBe(at + P);
    p.mmap(at + 3 * P, P, RW, FIXED); // the hole filled: one VMA again
    expect(p.mm.vmas.find(at + 3 * P)).toBe(p.mm.vmas.find(at + 7 * P));
    expect(p.read8(at + 3 * P)).toBe(0);
    p.munmap(at + P, 7 * P); // all of it
    expect([p.mm.vmas.find(at + 5 * P), p.mm.vmas.findFrom(at)]).toEqual([null, null]);
    expect(() => p.write8(at + 5 * P, 1)).toThrow(/SIGSEGV/);
  });
});
