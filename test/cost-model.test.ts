// The cost model: the kernel's work counted (zaps, flushes, PTE tables) as Linux does it, and
// calibrate's figures taken apart into the model's parts so that the parts add back up.
import { describe, expect, it } from 'vitest';
import { deriveCosts, deriveThreadCosts } from '../src/experiment/calibrate.js';
import { DEFAULT_COSTS, kernelWork, kernelWorkNs } from '../src/experiment/cost-model.js';
import { Process } from '../src/mm/process.js';
import { O_CLOEXEC, O_NONBLOCK, UFFD_FEATURE_MOVE, UFFD_FEATURE_SIGBUS, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, UFFDIO_REGISTER_MODE_MISSING } from '../src/mm/userfaultfd/uapi.js';
import { MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const BLOCK = 0x7f0000000000; // 2 MiB-aligned

describe('kernel work counts', () => {
  it('a lone page allocates its PTE table at the fault and munmap frees it (free_pgtables)', () => {
    const p = new Process();
    p.mmap(BLOCK, PAGE_SIZE, RW, ANON | MAP_FIXED);
    p.fill(BLOCK, 1, 7);
    const w = kernelWork(p.mm);
    expect([w.pteTablesAllocated, w.pteTablesFreed, w.pagesZapped, w.tlbFlushes]).toEqual([1, 0, 0, 0]);
    p.munmap(BLOCK, PAGE_SIZE);
    expect([w.pteTablesAllocated, kernelWork(p.mm).pteTablesFreed, p.mm.pagesZapped, p.mm.tlb.flushes]).toEqual([1, 1, 1, 1]);
  });

  it('a neighbour in the block keeps the table: the munmap zaps and flushes only', () => {
    const p = new Process();
    p.mmap(BLOCK, PAGE_SIZE, RW, ANON | MAP_FIXED);
    p.mmap(BLOCK + PMD_SIZE / 2, PAGE_SIZE, RW, ANON | MAP_FIXED);
    p.fill(BLOCK, 1, 7);
    p.fill(BLOCK + PMD_SIZE / 2, 1, 7);
    p.munmap(BLOCK, PAGE_SIZE);
    const w = kernelWork(p.mm);
    expect([w.pteTablesAllocated, w.pteTablesFreed, w.pagesZapped, w.tlbFlushes]).toEqual([1, 0, 1, 1]);
  });

  it('an aligned mremap of a whole block hands its table over (move_normal_pmd): nothing allocated or freed', () => {
    const p = new Process();
    p.mmap(BLOCK, PMD_SIZE, RW, ANON | MAP_FIXED);
    p.fill(BLOCK, PMD_SIZE, 9);
    const to = BLOCK + 8 * PMD_SIZE;
    p.mremap(BLOCK, PMD_SIZE, PMD_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    const w = kernelWork(p.mm);
    expect([w.pteTablesAllocated, w.pteTablesFreed, w.pagesZapped]).toEqual([1, 0, 0]);
    expect(Array.from(p.read(to + PMD_SIZE - 2, 2))).toEqual([9, 9]);
    expect(p.mm.pt.pmd(BLOCK)).toBeUndefined();
  });

  it('an mremap not 2 MiB away moves each present PTE one by one (move_ptes), and counts them; a whole table moved counts none', () => {
    const p = new Process();
    p.mmap(BLOCK, 8 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    p.fill(BLOCK, 3 * PAGE_SIZE, 5); // 3 of the 8 pages present
    p.mremap(BLOCK, 8 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, BLOCK + PMD_SIZE / 2);
    expect([p.mm.ptesMoved, kernelWork(p.mm).ptesMoved, p.mm.tlb.flushes]).toEqual([3, 3, 1]);
    expect(Array.from(p.read(BLOCK + PMD_SIZE / 2 + 3 * PAGE_SIZE - 1, 2))).toEqual([5, 0]);
    const q = new Process();
    q.mmap(BLOCK, PMD_SIZE, RW, ANON | MAP_FIXED);
    q.madvise(BLOCK, PMD_SIZE, MADV_NOHUGEPAGE);
    q.fill(BLOCK, PMD_SIZE, 9);
    q.mremap(BLOCK, PMD_SIZE, PMD_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, BLOCK + 8 * PMD_SIZE);
    expect(q.mm.ptesMoved).toBe(0);
  });

  it('the default costs price a populated page\'s DONTNEED as calibration.md measured it, within the flush estimate', () => {
    const w = { syscalls: { madvise: 1 }, faults: {}, pagesZapped: 1, tlbFlushes: 1, pteTablesAllocated: 0, pteTablesFreed: 0, firstTouches: 0, ptesMoved: 0 };
    // 1758 measured: the unbatched zap of one page costs more than the batched 236 the model uses
    expect(kernelWorkNs(w)).toBe(476 + 236 + 803);
    // UFFDIO_MOVE of one page, 1203 measured: the call and the page's flush
    expect(kernelWorkNs({ ...w, syscalls: { UFFDIO_MOVE: 1, 'UFFDIO_MOVE:pages': 1 }, pagesZapped: 0 })).toBe(1203);
  });

  it('UFFDIO_MOVE flushes once per batch of present pages, a batch ending at a PMD boundary or a hole (move_present_ptes)', () => {
    const p = new Process();
    p.mmap(BLOCK, 4 * PMD_SIZE, RW, ANON | MAP_FIXED);
    const fd = p.userfaultfd(O_CLOEXEC | O_NONBLOCK);
    p.uffdApi(fd, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MOVE);
    p.uffdRegister(fd, BLOCK, 4 * PMD_SIZE, UFFDIO_REGISTER_MODE_MISSING);
    const src = p.mmap(BLOCK + 8 * PMD_SIZE, 2 * PMD_SIZE, RW, ANON | MAP_FIXED);
    p.madvise(src, 2 * PMD_SIZE, MADV_NOHUGEPAGE);
    for (let a = src; a < src + 2 * PMD_SIZE; a += PAGE_SIZE) if (a !== src + 100 * PAGE_SIZE) p.fill(a, 1, 5);
    const flushes = () => p.mm.tlb.flushes;
    let before = flushes();
    p.uffdMove(fd, BLOCK, src, 64 * PAGE_SIZE); // one batch
    expect(flushes() - before).toBe(1);
    before = flushes();
    p.uffdMove(fd, BLOCK + 64 * PAGE_SIZE, src + 64 * PAGE_SIZE, 80 * PAGE_SIZE, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES); // a hole at page 100
    expect(flushes() - before).toBe(2);
    before = flushes();
    p.uffdMove(fd, BLOCK + 2 * PMD_SIZE, src + PMD_SIZE - 8 * PAGE_SIZE, 16 * PAGE_SIZE); // across the source's PMD boundary
    expect(flushes() - before).toBe(2);
    expect(Array.from(p.read(BLOCK + 2 * PMD_SIZE + 15 * PAGE_SIZE, 1))).toEqual([5]);
  });

  it('a page an ioctl filled is touched once without a fault; a zero page first written faults instead', () => {
    const p = new Process();
    p.mmap(BLOCK, 4 * PAGE_SIZE, RW, ANON | MAP_FIXED);
    const fd = p.userfaultfd(O_CLOEXEC | O_NONBLOCK);
    p.uffdApi(fd, UFFD_FEATURE_SIGBUS);
    p.uffdRegister(fd, BLOCK, 4 * PAGE_SIZE, UFFDIO_REGISTER_MODE_MISSING);
    const src = p.mmap(0, PAGE_SIZE, RW, ANON);
    p.fill(src, PAGE_SIZE, 3);
    p.uffdCopy(fd, BLOCK, src, PAGE_SIZE);
    p.uffdZeropage(fd, BLOCK + PAGE_SIZE, PAGE_SIZE);
    const faults = p.mm.faults.cow + p.mm.faults.anon;
    p.fill(BLOCK, 2, 9); // the copied page: present and writable
    p.fill(BLOCK, 2, 8); // touched already
    expect(p.mm.firstTouches).toBe(1);
    p.fill(BLOCK + PAGE_SIZE, 1, 9); // the zero page: copy-on-write, whose figure includes the touch
    expect([p.mm.firstTouches, p.mm.faults.cow + p.mm.faults.anon - faults]).toEqual([1, 1]);
    expect(Array.from(p.read(BLOCK, 3))).toEqual([8, 8, 3]);
  });
});

describe('deriveCosts', () => {
  // recorder --bench on the zero-page-less 6.18 (2026-12-01)
  const figures = {
    'write-fault-4k': 10591,
    'cow-zero-4k': 15093,
    'dontneed-empty-4k': 1142,
    'dontneed-4k': 7578,
    'dontneed-2m': 72569,
    'mmap-munmap-4k-10k-vmas': 6169,
    'pte-alloc-fault-4k': 28730,
    'munmap-pte-free-4k': 30322,
    'munmap-populated-4k': 7184,
    'uffd-move-4k': 5422,
  };

  it('takes each figure apart so that the model adds it back up', () => {
    const c = structuredClone(DEFAULT_COSTS);
    deriveCosts(c, figures);
    const price = (w: Partial<Parameters<typeof kernelWorkNs>[0]>) =>
      Math.round(kernelWorkNs({ syscalls: {}, faults: {}, pagesZapped: 0, tlbFlushes: 0, pteTablesAllocated: 0, pteTablesFreed: 0, firstTouches: 0, ptesMoved: 0, ...w }, c));
    // the flush is the one-page move's; a populated page's DONTNEED also frees a page unbatched
    expect(c.work.tlbFlushNs).toBe(5422 - 400);
    const dontneed = price({ syscalls: { madvise: 1 }, pagesZapped: 1, tlbFlushes: 1 });
    expect(dontneed / 7578).toBeGreaterThan(0.8);
    expect(price({ syscalls: { madvise: 1 }, pagesZapped: 512, tlbFlushes: 1 }) - dontneed).toBe(72569 - 7578);
    expect(price({ faults: { cow: 1 }, tlbFlushes: 1 })).toBe(15093);
    expect(price({ faults: { anon: 1 }, pteTablesAllocated: 1 })).toBe(28730);
    expect(price({ syscalls: { UFFDIO_MOVE: 1, 'UFFDIO_MOVE:pages': 1 }, tlbFlushes: 1 })).toBe(5422);
    // the lone page's munmap: the populated munmap's figure and the table freed
    expect(price({ syscalls: { munmap: 1 }, pagesZapped: 1, tlbFlushes: 1, pteTablesFreed: 1 }) - price({ syscalls: { munmap: 1 }, pagesZapped: 1, tlbFlushes: 1 })).toBe(30322 - 7184);
  });

  it('takes the moved page and the flush apart from a one-page and a 512-page UFFDIO_MOVE (one flush per batch)', () => {
    const c = structuredClone(DEFAULT_COSTS);
    deriveCosts(c, { ...figures, 'uffd-move-512x4k': 51 });
    const move = (pages: number) => c.syscallNs.UFFDIO_MOVE + pages * c.syscallNs['UFFDIO_MOVE:pages'] + c.work.tlbFlushNs;
    expect(move(1)).toBeCloseTo(5422, 6);
    expect(move(512)).toBeCloseTo(51 * 512, 6);
  });

  it('takes the per-PTE cost and the call apart from mremaps of one and of 32 pages, so the simulated moves add back up', () => {
    // recorder --bench on the zero-page-less 6.18 (a PVM guest: each PTE moved costs a flush)
    const mremaps = { 'mremap-4k': 9242, 'mremap-32x4k': 114846 };
    const c = structuredClone(DEFAULT_COSTS);
    deriveCosts(c, { ...figures, ...mremaps });
    expect(c.work.pteMoveNs).toBeCloseTo((114846 - 9242) / 31, 6);
    // the bench's move, simulated: 32 populated pages into a fresh reservation, one page in
    for (const [pages, figure] of [[1, 9242], [32, 114846]]) {
      const p = new Process();
      p.mmap(BLOCK, pages * PAGE_SIZE, RW, ANON | MAP_FIXED);
      p.fill(BLOCK, pages * PAGE_SIZE, 0xa5);
      const to = BLOCK + PMD_SIZE / 2;
      p.mmap(to - PAGE_SIZE, (pages + 2) * PAGE_SIZE, 0, ANON | MAP_FIXED);
      const before = kernelWorkNs(kernelWork(p.mm), c);
      p.mremap(BLOCK, pages * PAGE_SIZE, pages * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
      expect(kernelWorkNs(kernelWork(p.mm), c) - before).toBeCloseTo(figure, 6);
    }
    // without the figures the default (a machine whose mremap figure moved a whole table) stays
    const d = structuredClone(DEFAULT_COSTS);
    deriveCosts(d, figures);
    expect([d.work.pteMoveNs, d.syscallNs.mremap]).toEqual([0, DEFAULT_COSTS.syscallNs.mremap]);
  });

  it('leaves what a missing figure would give as it was', () => {
    const c = structuredClone(DEFAULT_COSTS);
    deriveCosts(c, { 'write-fault-4k': 5000 });
    expect(c.faultNs.anon).toBe(5000);
    expect(c.work).toEqual(DEFAULT_COSTS.work);
    expect(c.faultNs.cow).toBe(DEFAULT_COSTS.faultNs.cow);
  });
});

describe('deriveThreadCosts', () => {
  it('spreads the victim\'s loss per fault over the other thread\'s work in that time', () => {
    const c = structuredClone(DEFAULT_COSTS);
    deriveThreadCosts(c, {
      idle: { victimNsPerFault: 1000, opsPerSec: 0 },
      touch: { victimNsPerFault: 1100, opsPerSec: 1e6 }, // 1.1 faults of B per victim fault
      mmap: { victimNsPerFault: 1200, opsPerSec: 250_000 }, // 0.6 lock acquisitions
      dontneed0: { victimNsPerFault: 1250, opsPerSec: 2e6 }, // 2.5 DONTNEEDs
      dontneed: { victimNsPerFault: 4000, opsPerSec: 50_000 }, // 0.2 shootdowns
    });
    expect(c.thread.faultTaxNs).toBeCloseTo(100 / 1.1, 6);
    expect(c.thread.lockBounceNs).toBeCloseTo(200 / 0.6, 6);
    expect(c.thread.madviseTaxNs).toBeCloseTo(100, 6);
    expect(c.thread.ipiReceiveNs).toBeCloseTo(3000 / 0.2 - 100 / 1.1 - 100, 6);
    // the sender: 20 us per op, of which its own work is priced by the other costs
    const work = c.faultNs.anon + c.syscallNs.madvise + c.work.zapPageNs + c.work.tlbFlushNs;
    expect(c.thread.ipiSendWaitNs).toBeCloseTo(20_000 - work, 6);
  });

  it('keeps the thread costs without an idle run to compare with', () => {
    const c = structuredClone(DEFAULT_COSTS);
    deriveThreadCosts(c, { touch: { victimNsPerFault: 5000, opsPerSec: 1e6 } });
    expect(c.thread).toEqual(DEFAULT_COSTS.thread);
  });
});
