// Faults and signals: what a program sees when it touches memory, and what the kernel counts.
import { describe, expect, it } from 'vitest';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { BASE, FIXED, RW } from './helpers/layout.js';

const P = 4096;
const M2 = 2 * 1024 * 1024;

describe('signals', () => {
  it('surfaces an unhandled fault as a SignalError with signal, si_code and address', () => {
    const p = new Process();
    p.mmap(BASE, P, U.PROT_READ, FIXED);
    const err = (() => {
      try {
        p.write8(BASE + 10, 1);
      } catch (e) {
        return e as U.SignalError;
      }
    })();
    expect(err).toBeInstanceOf(U.SignalError);
    expect([err!.name, err!.signo, err!.code, err!.addr]).toEqual(['SIGSEGV', U.SIGSEGV, U.SEGV_ACCERR, BASE + 10]);
    expect(() => p.read8(BASE + P)).toThrow(expect.objectContaining({ code: U.SEGV_MAPERR, addr: BASE + P }));
  });

  it('takes mmap_lock once per faulting store, inside one page or across several (lock_mm_and_find_vma)', () => {
    const p = new Process();
    p.mmap(BASE, P, RW, FIXED);
    for (const [at, len] of [[BASE + 2 * P, 16], [BASE + 2 * P + 8, 1], [BASE + 3 * P, 3 * P]]) {
      const before = p.mm.lock.total.read;
      expect(() => p.fill(at, len, 1)).toThrow(expect.objectContaining({ code: U.SEGV_MAPERR, addr: at }));
      expect(p.mm.lock.total.read - before).toBe(1);
    }
    const before = p.mm.lock.total.read;
    expect(() => p.write8(BASE + 5 * P, 1)).toThrow(expect.objectContaining({ code: U.SEGV_MAPERR }));
    expect(p.mm.lock.total.read - before).toBe(1);
  });

  it('runs the installed handler, which may fix the mapping and retry the access', () => {
    const p = new Process();
    const seen: U.SigInfo[] = [];
    p.sigaction(U.SIGSEGV, (info) => {
      seen.push(info);
      p.mmap(info.addr - (info.addr % P), P, RW, FIXED);
      return true;
    });
    p.write(BASE + P - 2, [1, 2, 3, 4]);
    expect(seen.map((s) => s.addr)).toEqual([BASE + P - 2, BASE + P]);
    expect(Array.from(p.read(BASE + P - 2, 4))).toEqual([1, 2, 3, 4]);
  });

  it('keeps the bytes stored before the faulting page (stores go in address order)', () => {
    const p = new Process();
    p.mmap(BASE, P, RW, FIXED);
    p.mmap(BASE + P, P, U.PROT_READ, FIXED);
    expect(() => p.fill(BASE + P - 8, 16, 0xee)).toThrow(U.SignalError);
    expect(p.read8(BASE + P - 1)).toBe(0xee);
    expect(p.read8(BASE + P)).toBe(0);
  });
});

describe('kernel-mode copies', () => {
  it('returns a short count when a copy faults part way, and EFAULT when it faults at once', () => {
    const p = new Process();
    p.mmap(BASE, P, RW, FIXED);
    p.mmap(BASE + P, P, U.PROT_NONE, FIXED);
    const fd = p.memfdCreate('sink');
    p.ftruncate(fd, 4 * P);
    expect(p.pwrite(fd, BASE + P - 100, 200, 0)).toBe(100);
    expect(() => p.pwrite(fd, BASE + P, 10, 0)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    // ksys_pwrite64 refuses a negative position before vfs_write looks at the buffer (probed on 6.18)
    expect(() => p.pwrite(fd, -P, 16, -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const z = p.open('/dev/zero');
    p.fill(BASE, P, 1);
    expect(p.readInto(z, BASE + P - 10, 20)).toBe(10);
    expect(p.read8(BASE + P - 1)).toBe(0);
    expect(p.read8(BASE + P - 11)).toBe(1);
  });
});

describe('anonymous faults', () => {
  it('maps the zero page on read and allocates on write, counting each kind', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    p.read8(BASE);
    expect(p.mm.rss).toBe(0);
    p.write8(BASE, 5);
    p.write8(BASE + P, 6);
    expect(p.mm.rss).toBe(2);
    expect(p.mm.faults).toMatchObject({ zero: 1, cow: 1, anon: 1 });
    expect(p.kernel.vmstat.pgfault).toBe(3);
  });

  it('allocates a THP on the first write in a MADV_HUGEPAGE block, and the huge zero page on read', () => {
    const p = new Process();
    p.mmap(BASE, 2 * M2, RW, FIXED);
    p.madvise(BASE, 2 * M2, U.MADV_HUGEPAGE);
    p.write8(BASE + 5, 1);
    p.read8(BASE + M2);
    expect(p.kernel.vmstat).toMatchObject({ thp_fault_alloc: 1, thp_zero_page_alloc: 1 });
    expect(p.mm.rss).toBe(512);
    p.write8(BASE + M2 + 7, 2);
    expect(p.kernel.vmstat.thp_fault_alloc).toBe(2);
    expect(p.mm.rss).toBe(1024);
    expect(p.read8(BASE + M2 + 7)).toBe(2);
    expect(p.read8(BASE + 5)).toBe(1);
  });

  it('honours THP mode never and always', () => {
    const never = new Process({ settings: { thpEnabled: 'never' } });
    never.mmap(BASE, M2, RW, FIXED);
    never.madvise(BASE, M2, U.MADV_HUGEPAGE);
    never.write8(BASE, 1);
    expect(never.kernel.vmstat.thp_fault_alloc).toBe(0);
    const always = new Process({ settings: { thpEnabled: 'always' } });
    always.mmap(BASE, M2, RW, FIXED);
    always.write8(BASE, 1);
    expect(always.kernel.vmstat.thp_fault_alloc).toBe(1);
    always.mmap(BASE + M2, M2, RW, FIXED);
    always.madvise(BASE + M2, M2, U.MADV_NOHUGEPAGE);
    always.write8(BASE + M2, 1);
    expect(always.kernel.vmstat.thp_fault_alloc).toBe(1);
  });
});

describe('khugepaged', () => {
  it('collapses blocks within max_ptes_none, preserving bytes, and refuses sparser ones', () => {
    const p = new Process({ settings: { khugepagedMaxPtesNone: 256 } });
    p.mmap(BASE, 2 * M2, RW, FIXED);
    p.madvise(BASE, 2 * M2, U.MADV_NOHUGEPAGE);
    for (let i = 0; i < 300; i++) p.write8(BASE + i * P, i & 0xff); // 212 empty PTEs: collapses
    p.write8(BASE + M2, 7); // 511 empty PTEs: too sparse
    p.madvise(BASE, 2 * M2, U.MADV_HUGEPAGE);
    const r = p.khugepaged();
    expect(r).toMatchObject({ scanned: 2, collapsed: 1, refused: { EBUSY: 1 } });
    expect(p.kernel.vmstat.thp_collapse_alloc).toBe(1);
    for (let i = 0; i < 300; i++) expect(p.read8(BASE + i * P)).toBe(i & 0xff);
    expect(p.mm.pt.pmd(BASE)!.huge).toBeGreaterThan(0);
    expect(p.mm.rss).toBe(512 + 1);
    p.mm.checkInvariants();
  });
});

describe('stores after the kernel changed a translation', () => {
  // Process keeps recent store translations (UserTlb): each case stores into a page, lets the
  // kernel change that page's translation, and stores again — the second store must go where the
  // kernel now says, never to the frame the first one used.
  const cases: [string, (p: Process) => void, (p: Process) => void][] = [
    ['munmap', (p) => p.munmap(BASE, P), (p) => expect(() => p.write8(BASE, 2)).toThrow(expect.objectContaining({ code: U.SEGV_MAPERR }))],
    ['mprotect', (p) => p.mprotect(BASE, P, U.PROT_READ), (p) => expect(() => p.write8(BASE, 2)).toThrow(expect.objectContaining({ code: U.SEGV_ACCERR }))],
    [
      'MADV_DONTNEED',
      (p) => p.madvise(BASE, P, U.MADV_DONTNEED),
      (p) => {
        p.write8(BASE + 1, 2);
        expect([p.read8(BASE), p.read8(BASE + 1), p.mm.faults.anon]).toEqual([0, 2, 2]);
      },
    ],
    [
      'mremap to another place',
      (p) => p.mremap(BASE, P, P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, BASE + 8 * P),
      (p) => {
        expect(() => p.write8(BASE, 2)).toThrow(expect.objectContaining({ code: U.SEGV_MAPERR }));
        p.write8(BASE + 8 * P + 1, 2);
        expect([p.read8(BASE + 8 * P), p.read8(BASE + 8 * P + 1)]).toEqual([1, 2]);
      },
    ],
    [
      'MADV_COLLAPSE',
      (p) => {
        p.madvise(BASE, M2, U.MADV_HUGEPAGE);
        p.madvise(BASE, M2, U.MADV_COLLAPSE);
        expect(p.mm.pt.pmd(BASE)!.huge).toBeGreaterThan(0);
      },
      (p) => {
        p.write8(BASE + 1, 2);
        expect([p.read8(BASE), p.read8(BASE + 1), p.mm.rss]).toEqual([1, 2, 512]);
      },
    ],
  ];
  for (const [what, change, after] of cases) {
    it(`stores where the kernel says after ${what}`, () => {
      const p = new Process();
      p.mmap(BASE, M2, RW, FIXED);
      p.madvise(BASE, M2, U.MADV_NOHUGEPAGE);
      p.write8(BASE, 1);
      p.write8(BASE, 1); // the second store finds the translation the first one made
      change(p);
      after(p);
      p.mm.checkInvariants();
    });
  }
});

describe('shared file pages', () => {
  it('a hole punched by another process is unmapped here, TLB flushed, and the next store faults in a new page', () => {
    const a = new Process();
    const b = new Process({ kernel: a.kernel });
    const fd = a.memfdCreate('shared');
    a.ftruncate(fd, 4 * P);
    const fdB = b.installFd(a.fdObject(fd));
    const pa = a.mmap(0, 4 * P, RW, U.MAP_SHARED, fd);
    a.write8(pa, 7);
    a.write8(pa, 8); // through the translation the first store made
    const [flushes, zapped] = [a.mm.tlb.flushes, a.mm.pagesZapped];
    b.fallocate(fdB, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, P);
    // zap_page_range_single zaps the page from a's mapping and flushes a's TLB
    expect([a.mm.pt.pte(pa), a.mm.tlb.flushes - flushes, a.mm.pagesZapped - zapped]).toEqual([0, 1, 1]);
    const faults = a.mm.faults.file;
    a.write8(pa + 1, 9);
    expect(a.mm.faults.file - faults).toBe(1);
    const pb = b.mmap(0, P, U.PROT_READ, U.MAP_SHARED, fdB);
    expect([b.read8(pb), b.read8(pb + 1)]).toEqual([0, 9]);
    a.mm.checkInvariants();
    b.mm.checkInvariants();
  });

  it('a store at an unaligned address faults in the file page holding it (linear_page_index)', () => {
    const p = new Process();
    const fd = p.memfdCreate('f');
    p.ftruncate(fd, 4 * P);
    const at = p.mmap(0, 4 * P, RW, U.MAP_SHARED, fd);
    p.write8(at + 2 * P + 123, 5);
    const o = p.fdObject(fd);
    expect(o.kind === 'shmem' && [...o.file.pages.keys()]).toEqual([2]);
    expect(p.read8(at + 2 * P + 123)).toBe(5);
  });
});

describe('user-mode memcpy (Process.copy)', () => {
  it('copies bytes across pages and across its 1 MiB chunks, faulting the destination in as stores do', () => {
    const p = new Process();
    const n = (1 << 20) + 3 * 4096 + 123; // more than one chunk, ending mid-page
    const src = p.mmap(0, 2 << 20, RW, 0x22);
    const dst = p.mmap(0, 2 << 20, RW, 0x22);
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 12)) & 0xff);
    p.write(src + 5, data);
    const before = p.mm.faults.anon;
    p.copy(dst + 9, src + 5, n);
    expect(p.read(dst + 9, n)).toEqual(data);
    expect([p.read8(dst + 8), p.read8(dst + 9 + n)]).toEqual([0, 0]);
    // every destination page was written for the first time: one anonymous fault each
    expect(p.mm.faults.anon - before).toBe(Math.ceil((9 + n) / 4096));
  });

  it('raises SIGSEGV at the first source byte that is not mapped; nothing of that chunk is stored', () => {
    const p = new Process();
    const src = p.mmap(0, 8192, RW, 0x22);
    p.munmap(src + 4096, 4096);
    const dst = p.mmap(0, 8192, RW, 0x22);
    p.fill(src, 4096, 0x5a);
    expect(() => p.copy(dst, src + 4000, 200)).toThrow(expect.objectContaining({ name: 'SIGSEGV', code: U.SEGV_MAPERR, addr: src + 4096 }));
    expect(p.read8(dst)).toBe(0); // the load faulted before any store of its chunk
  });
});
