// mremap_vma_merge: the pgoff case Linux refuses, bytes preserved across random fragmentation,
// faults from both modes mid-merge, what UFFD_USER_MODE_ONLY breaks, and every refusal.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mremapVmaMerge, VmaMerge } from '../src/alloc/defrag.js';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { BASE, draw, FIXED, RW } from './helpers/layout.js';

const P = 4096;

/** n VMAs of `pages` pages each, adjacent, unmergeable (each moved in by mremap with pages). */
function fragmented(n: number, pages: number, fill = true) {
  const p = new Process();
  for (let i = 0; i < n; i++) {
    const src = p.mmap(0, pages * P, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
    if (fill) p.fill(src, pages * P, (i % 250) + 1);
    else p.write8(src, (i % 250) + 1);
    p.mremap(src, pages * P, pages * P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, BASE + i * pages * P);
  }
  return p;
}

describe('mremap_vma_merge', () => {
  it('merges two adjacent VMAs that Linux refuses to merge (moved VMA, pgoff differs)', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    p.write8(BASE, 1);
    p.mmap(BASE + 0x200000, 4 * P, RW, FIXED);
    p.write8(BASE + 0x200000, 2);
    p.mremap(BASE + 0x200000, 4 * P, 4 * P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, BASE + 4 * P);
    expect(draw(p, BASE, 8)).toBe('AAAABBBB');
    const vmas = p.mm.mapCount;
    const r = mremapVmaMerge(p, BASE, 8 * P);
    expect(r.vmasBefore).toBe(2);
    expect(draw(p, BASE, 8)).toBe('AAAAAAAA');
    expect(p.mm.mapCount).toBe(vmas - 1);
    expect([p.read8(BASE), p.read8(BASE + 4 * P)]).toEqual([1, 2]);
    // an ordinary anonymous VMA: born at its address (contiguous indices), unregistered
    const v = p.mm.vmas.find(BASE)!;
    expect([v.pgoff, v.uffd]).toEqual([BASE / P, null]);
    // it merges with an equal neighbour, and MADV_COLLAPSE can build THPs in it
    p.mmap(BASE + 8 * P, 4 * P, RW, FIXED);
    expect(draw(p, BASE, 12)).toBe('AAAAAAAAAAAA');
    p.mm.checkInvariants();
  });

  it('lets khugepaged build a THP across the old boundaries', () => {
    const p = fragmented(8, 64); // 2 MiB in 8 VMAs
    p.madvise(BASE, 512 * P, U.MADV_HUGEPAGE);
    expect(p.khugepaged().collapsed).toBe(0); // no VMA holds a whole aligned block
    mremapVmaMerge(p, BASE, 512 * P);
    expect(p.khugepaged().collapsed).toBe(1);
    expect(p.readProc('/proc/self/smaps')).toContain('AnonHugePages:      2048 kB');
    for (let i = 0; i < 8; i++) expect(p.read8(BASE + i * 64 * P + 5)).toBe(i + 1);
  });

  it('keeps every byte across random fragmentation patterns, with accesses between steps', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 12 }), fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(1000), { maxLength: 40 }), (sizes, step, accesses) => {
        const p = new Process();
        let at = BASE;
        for (const [i, pages] of sizes.entries()) {
          const src = p.mmap(0, pages * P, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
          for (let k = 0; k < pages; k += 2) p.write8(src + k * P + i, i + 1); // every other page: holes too
          p.mremap(src, pages * P, pages * P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, at);
          at += pages * P;
        }
        const len = at - BASE;
        const model = p.read(BASE, len);
        const m = new VmaMerge(p, BASE, len, { stepPages: step });
        const z = p.open('/dev/zero');
        let k = 0;
        // between steps the program reads, writes, and hands pages to read() (kernel stores)
        for (const a of accesses) {
          if (!m.step()) break;
          const off = (a * 4099 + k++ * 977) % len;
          if (a % 3 === 0) expect(p.read8(BASE + off)).toBe(model[off]);
          else if (a % 3 === 1) {
            p.write8(BASE + off, a & 0xff);
            model[off] = a & 0xff;
          } else {
            const n = Math.min(8, len - off);
            expect(p.readInto(z, BASE + off, n)).toBe(n);
            model.fill(0, off, off + n);
          }
        }
        while (m.step()) {
          /* finish */
        }
        expect(p.mm.vmas.find(BASE)!.end).toBe(at);
        expect(Buffer.from(p.read(BASE, len)).equals(Buffer.from(model))).toBe(true);
        p.mm.checkInvariants();
      }),
      { numRuns: 300 },
    );
  });

  it('serves user and kernel faults on pages in flight between steps', () => {
    const p = fragmented(6, 4);
    const expected = p.read(BASE, 24 * P);
    const m = new VmaMerge(p, BASE, 24 * P, { stepPages: 3 });
    const sink = p.memfdCreate('sink');
    p.ftruncate(sink, 1 << 20);
    const z = p.open('/dev/zero');
    let k = 0;
    while (m.step()) {
      const a = BASE + ((k * 7) % 24) * P + k;
      // user-mode load and store, and kernel-mode copies from and into the range
      expect(p.read8(a)).toBe(expected[a - BASE]);
      p.write8(a, expected[a - BASE]);
      expect(p.pwrite(sink, BASE + ((k * 5) % 24) * P, 64, 0)).toBe(64);
      p.readInto(z, BASE + 23 * P + 4000, 16); // stores zeroes: keep the model in step
      expected.fill(0, 23 * P + 4000, 23 * P + 4016);
      k++;
    }
    expect(m.result.faultsServed).toBeGreaterThan(0);
    expect(Buffer.from(p.read(BASE, 24 * P)).equals(Buffer.from(expected))).toBe(true);
    expect(p.mm.vmas.find(BASE)!.end).toBe(BASE + 24 * P);
  });

  it('breaks kernel copies with UFFD_USER_MODE_ONLY: read()/write() on a page in flight fail with EFAULT', () => {
    const p = fragmented(4, 4);
    const m = new VmaMerge(p, BASE, 16 * P, { userModeOnly: true, stepPages: 4 });
    const sink = p.memfdCreate('sink');
    p.ftruncate(sink, 1 << 20);
    m.step(); // setup
    m.step(); // the first fragment is now in flight
    expect(() => p.pwrite(sink, BASE, 64, 0)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(p.read8(BASE)).toBe(1); // a user-mode access is still served
    while (m.step()) {
      /* finish */
    }
    expect(p.pwrite(sink, BASE, 64, 0)).toBe(64);
  });

  describe('refuses, with errno and nothing changed', () => {
    const cases: [string, U.ErrnoName, (p: Process) => void][] = [
      ['a hole', 'ENOMEM', (p) => p.munmap(BASE + 5 * P, P)],
      ['a shared mapping', 'EINVAL', (p) => p.mmap(BASE + 4 * P, 4 * P, RW, U.MAP_SHARED | U.MAP_ANONYMOUS | U.MAP_FIXED)],
      ['differing protections', 'EINVAL', (p) => p.mprotect(BASE + 4 * P, 4 * P, U.PROT_READ)],
      ['another userfaultfd', 'EBUSY', (p) => {
        const fd = p.userfaultfd();
        p.uffdApi(fd);
        p.uffdRegister(fd, BASE + 4 * P, 4 * P, 1);
      }],
      ['an mlocked range', 'EINVAL', (p) => p.mmap(BASE + 4 * P, 4 * P, RW, FIXED | U.MAP_LOCKED)],
    ];
    for (const [what, code, spoil] of cases) {
      it(what, () => {
        const p = fragmented(4, 4);
        spoil(p);
        const maps = p.readProc('/proc/self/maps');
        const locks = p.mm.lock.total.write;
        expect(() => mremapVmaMerge(p, BASE, 16 * P)).toThrow(expect.objectContaining({ code }));
        expect(p.readProc('/proc/self/maps')).toBe(maps);
        expect(p.mm.lock.total.write).toBe(locks);
      });
    }

    it('fuzz: any smaps list, true or mangled, merges with every byte kept or is an errno with nothing changed', () => {
      const field = fc.constantFrom('start', 'end', 'perms', 'inode', 'flags', 'rssKb', 'drop', 'none');
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(5), field, fc.integer({ min: -3, max: 3 })), { maxLength: 4 }), fc.integer({ min: 1, max: 16 }), (edits, pages) => {
          const p = fragmented(4, 4);
          const list = readSmaps(p).map((v) => ({ ...v, flags: new Set(v.flags) }));
          for (const [i, what, d] of edits) {
            const v = list[i % list.length];
            if (!v) continue;
            if (what === 'start') v.start += d * P;
            else if (what === 'end') v.end += d * P;
            else if (what === 'perms') v.perms = d > 0 ? 'r--p' : 'rw-s';
            else if (what === 'inode') v.inode = Math.abs(d);
            else if (what === 'flags') v.flags.add(d > 0 ? 'um' : 'lo');
            else if (what === 'rssKb') v.rssKb = -d;
            else if (what === 'drop') list.splice(i % list.length, 1);
          }
          const maps = p.readProc('/proc/self/maps');
          const bytes = p.read(BASE, 16 * P);
          try {
            mremapVmaMerge(p, BASE, pages * P, { smaps: list });
          } catch (e) {
            if (!(e instanceof U.Errno)) throw e;
            expect(p.readProc('/proc/self/maps')).toBe(maps);
          }
          expect(Buffer.from(p.read(BASE, 16 * P)).equals(Buffer.from(bytes))).toBe(true);
          p.mm.checkInvariants();
        }),
        { numRuns: 200 },
      );
    });

    it('given smaps that hide another userfaultfd, fails at UFFDIO_REGISTER and undoes its setup', () => {
      const p = fragmented(4, 4);
      const list = readSmaps(p);
      const other = p.userfaultfd();
      p.uffdApi(other);
      p.uffdRegister(other, BASE + 4 * P, 4 * P, 1);
      const maps = p.readProc('/proc/self/maps');
      const fds = (p as unknown as { fds: Map<number, unknown> }).fds;
      const open = fds.size;
      expect(() => mremapVmaMerge(p, BASE, 16 * P, { smaps: list })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      expect(p.readProc('/proc/self/maps')).toBe(maps);
      expect(fds.size).toBe(open); // its own userfaultfd was closed
    });

    it('refuses smaps that no longer describe the range (EAGAIN), changing nothing', () => {
      const p = fragmented(4, 4);
      const before = readSmaps(p);
      p.munmap(BASE + 5 * P, P); // a hole the list does not know of
      const maps = p.readProc('/proc/self/maps');
      expect(() => mremapVmaMerge(p, BASE, 16 * P, { smaps: before })).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      expect(() => mremapVmaMerge(p, BASE, 16 * P, { smaps: [] })).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      expect(() => mremapVmaMerge(p, BASE, 4 * P, { smaps: before.map((v) => ({ ...v, perms: 'r--p' })) })).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      expect(p.readProc('/proc/self/maps')).toBe(maps);
      // a list that still describes the range merges it as a fresh read would
      const q = fragmented(4, 4);
      expect(mremapVmaMerge(q, BASE, 16 * P, { smaps: readSmaps(q) }).vmasBefore).toBe(4);
      expect(q.mm.vmas.overlapping(BASE, BASE + 16 * P).length).toBe(1);
    });
  });
});

import { runDefrag } from '../src/experiment/defrag-run.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';

describe('bench --defrag', () => {
  it('merges a baseline heap fragmented by mremap, verifies its bytes and reports before and after', async () => {
    const w = WORKLOADS.realloc.make({ seed: 2, events: 6000 });
    const r = await runDefrag(w, 'mmap');
    expect(r.before.vmaFinal).toBeGreaterThan(r.after.vmaFinal);
    expect(r.rangesMerged).toBeGreaterThan(0);
    expect(r.bytesVerified).toBeGreaterThan(0);
    expect(r.after.thpCoverage).toBeGreaterThan(r.before.thpCoverage);
    for (const k of ['vmaFinal', 'thpCoverage', 'rssFinalBytes', 'mmapLockWrite', 'kernelNs'] as const) {
      expect(r.before).toHaveProperty(k);
      expect(r.after).toHaveProperty(k);
    }
  });
});

import { checkMergeable } from '../src/alloc/defrag.js';
import { defragProcess } from '../src/experiment/defrag-run.js';
import { runOne } from '../src/experiment/run.js';
import { readSmaps } from '../src/alloc/sys.js';

describe('mremap_vma_merge with absorbGuards', () => {
  it("turns the guarded heap's PROT_NONE guard VMAs into guard markers: far fewer VMAs, every guard still faulting", () => {
    const w = WORKLOADS.churn.make({ seed: 3, events: 8000 });
    let guards: [number, number][] = [];
    let before = 0;
    let after = 0;
    runOne(w, 'guarded', {
      keepBytes: true,
      onEnd: (proc) => {
        const vmas = readSmaps(proc);
        before = vmas.length;
        guards = vmas.filter((v) => v.perms === '---p').map((v) => [v.start, v.end]);
        const d = defragProcess(proc, true);
        expect(d.rangesMerged).toBeGreaterThan(0);
        after = proc.mm.mapCount;
        for (const [s, e] of guards) {
          for (const a of [s, e - 4096]) {
            try {
              proc.read8(a);
              expect.unreachable(`guard at 0x${a.toString(16)} no longer faults`);
            } catch (err) {
              expect(err).toBeInstanceOf(U.SignalError);
              expect([(err as U.SignalError).name, (err as U.SignalError).addr]).toEqual(['SIGSEGV', a]);
            }
          }
        }
      },
    });
    expect(guards.length).toBeGreaterThan(100);
    expect(after).toBeLessThan(before / 20);
  });

  it('refuses a guard that holds pages (EBUSY) and an interior VMA of other protections (EINVAL), changing nothing', () => {
    const p = new Process();
    const base = p.mmap(0, 6 * 4096, U.PROT_READ | U.PROT_WRITE, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
    p.fill(base, 6 * 4096, 1);
    p.mprotect(base + 2 * 4096, 4096, U.PROT_NONE); // a "guard" that holds a page
    const maps = p.readProc('/proc/self/maps');
    expect(() => checkMergeable(p, base, 6 * 4096, true)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    p.mprotect(base + 2 * 4096, 4096, U.PROT_READ);
    expect(() => checkMergeable(p, base, 6 * 4096, true)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    p.mprotect(base + 2 * 4096, 4096, U.PROT_NONE);
    expect(p.readProc('/proc/self/maps')).toBe(maps);
  });
});
