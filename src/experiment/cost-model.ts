// Simulated time: counts of what the kernel did, priced with costs measured on a real kernel.
// The constants are the medians in ../shared/kernel-oracle/calibration.md (Linux 6.18, this
// machine's kind), measured by kernel-oracle/calibrate.c; `tools/recorder --bench` re-measures the
// per-call ones on the user's own kernel.

import type { Mm } from '../mm/mm.js';
import { FAULT_KINDS } from '../mm/fault-kinds.js';

/**
 * ns per syscall or ioctl, by the names Mm.syscalls counts: the call itself, with no page to
 * unmap and no TLB entry to flush (those are priced per unit, WorkCosts).
 */
export const SYSCALL_NS: Record<string, number> = {
  mmap: 1810, // half of mmap+munmap 4 KiB with 10k VMAs (3618)
  munmap: 1810,
  brk: 1810,
  mprotect: 1600,
  mremap: 8700, // move of 2 MiB populated
  madvise: 476, // MADV_DONTNEED with nothing present (contention.md's dontneed0 mode)
  // userfaultfd range ioctls: a call, then each page (`NAME:pages` counts pages done)
  UFFDIO_ZEROPAGE: 400,
  'UFFDIO_ZEROPAGE:pages': 254,
  UFFDIO_COPY: 400,
  'UFFDIO_COPY:pages': 1315,
  UFFDIO_MOVE: 400,
  // 1203 for one page is the call (400) and its TLB flush (803, WorkCosts); a longer move
  // flushes once per batch of present pages (move_present_ptes, Linux 6.18)
  'UFFDIO_MOVE:pages': 0,
  UFFDIO_REGISTER: 1600,
  UFFDIO_API: 500,
  userfaultfd: 1000,
};

/** ns per page fault, by kind. */
export const FAULT_NS: Record<string, number> = {
  anon: 1860,
  cow: 1057, // never measured apart from anon's 1860; less the flush it ends with (WorkCosts)
  zero: 877,
  file: 1860,
  thp: 108_000, // allocate and clear 2 MiB
  hugeZero: 877,
  userfault: 2940, // the SIGBUS round trip
  sigsegv: 2940,
  sigbus: 2940,
};

/** Work inside a call, priced per unit whichever call did it (munmap, madvise, mprotect, mremap). */
export interface WorkCosts {
  /** Each present page a zap unmaps (zap_pte_range's per-page work, the frame freed). */
  zapPageNs: number;
  /** Each TLB flush an operation ends with (mmu_gather's tlb_finish_mmu, on this CPU). */
  tlbFlushNs: number;
  /** Each PTE table allocated (pte_alloc, by a fault or an ioctl) and freed (free_pgtables, PT reclaim). */
  pteAllocNs: number;
  pteFreeNs: number;
  /**
   * The first access, without a fault, to a PTE the kernel installed outside one (UFFDIO_COPY,
   * ZEROPAGE, MOVE, mremap): nothing on bare metal or with nested paging, a trap into the
   * hypervisor in a shadow-paging guest.
   */
  firstTouchNs: number;
  /**
   * Each PTE mremap moves one by one (move_ptes: source and destination not both 2 MiB-aligned, or
   * a block only partly moved); a whole PTE table handed over is in the call's own figure.
   */
  pteMoveNs: number;
}

export const WORK_COSTS: WorkCosts = {
  // MADV_DONTNEED of 2 MiB of small pages: (122189 - 476 - 803) / 512
  zapPageNs: 236,
  // UFFDIO_MOVE of one page (1203) less its call (400): the most a flush can cost there. (A
  // populated page's DONTNEED, 1758, leaves 479 for one unbatched zap.)
  tlbFlushNs: 803,
  // not measured on the recordings' machine: 0 leaves them inside the fault and munmap figures
  pteAllocNs: 0,
  pteFreeNs: 0,
  // a KVM guest with nested paging: the MMU sets the accessed bit itself
  firstTouchNs: 0,
  // not measured on the recordings' machine (its mremap figure moved a whole PTE table)
  pteMoveNs: 0,
};

/** What the kernel did, counted: what the cost model prices. */
export interface KernelWork {
  syscalls: Record<string, number>;
  faults: Record<string, number>;
  pagesZapped: number;
  tlbFlushes: number;
  pteTablesAllocated: number;
  pteTablesFreed: number;
  firstTouches: number;
  ptesMoved: number;
}

/** The kernel's counters as they stand (faults is the mm's own record: copy it to keep it). */
export function kernelWork(mm: Mm): KernelWork {
  return { syscalls: mm.syscalls, faults: mm.faults, ...unitWork(mm) };
}

/** The work priced per unit (unitWorkNs). */
export type UnitWork = Omit<KernelWork, 'syscalls' | 'faults'>;

/** The kernel's per-unit counters as they stand, into `into` when given (a hot path allocates nothing). */
export function unitWork(mm: Mm, into?: UnitWork): UnitWork {
  const w = into ?? ({} as UnitWork);
  w.pagesZapped = mm.pagesZapped;
  w.tlbFlushes = mm.tlb.flushes;
  w.pteTablesAllocated = mm.pt.tablesAllocated;
  w.pteTablesFreed = mm.pt.tablesFreed;
  w.firstTouches = mm.firstTouches;
  w.ptesMoved = mm.ptesMoved;
  return w;
}

/** The price of the kernel's work: each syscall or ioctl (and page of one), fault, zapped page, flush and page table. The one place costs are applied to counts (in three parts, which the Timeline prices as they change). */
export function kernelWorkNs(w: KernelWork, costs: Costs = DEFAULT_COSTS): number {
  return callsNs(w.syscalls, costs) + faultsNs(w.faults, costs) + unitWorkNs(w, costs);
}

/** The syscalls and ioctls (with their pages) of a count by name. */
export function callsNs(syscalls: Record<string, number>, costs: Costs): number {
  let ns = 0;
  for (const k in syscalls) ns += callNs(k, costs) * syscalls[k];
  return ns;
}

/** One syscall or ioctl (or page of one) by its name. */
export function callNs(name: string, costs: Costs): number {
  return costs.syscallNs[name] ?? 1000;
}

/** Each fault kind's price, in FAULT_KINDS order (for weightedFaults). */
export function faultPrices(costs: Costs): Float64Array {
  return Float64Array.from(FAULT_KINDS, (k) => costs.faultNs[k] ?? 1000);
}

/** The page faults, by kind. */
export function faultsNs(faults: Record<string, number>, costs: Costs): number {
  let ns = 0;
  for (const k in faults) ns += (costs.faultNs[k] ?? 1000) * faults[k];
  return ns;
}

/** The work priced per unit whichever call did it: zapped pages, flushes, page tables, first touches. */
export function unitWorkNs(w: UnitWork, costs: Costs): number {
  const c = costs.work;
  return w.pagesZapped * c.zapPageNs + w.tlbFlushes * c.tlbFlushNs + w.pteTablesAllocated * c.pteAllocNs + w.pteTablesFreed * c.pteFreeNs + w.firstTouches * c.firstTouchNs + w.ptesMoved * c.pteMoveNs;
}

/** kernelWorkNs, rounded to a whole ns. */
export function simulatedNs(w: KernelWork, costs: Costs = DEFAULT_COSTS): number {
  return Math.round(kernelWorkNs(w, costs));
}

/**
 * What threads cost each other, fitted to ../shared/kernel-oracle/contention.md (Linux 6.18,
 * 2 vCPUs, Firecracker): a victim thread write-faulting its own pages while another thread of the
 * process does memory-management work.
 */
export interface ThreadCosts {
  /** The flushing thread waits this long for the other CPUs' acknowledgements (per flush with IPIs). */
  ipiSendWaitNs: number;
  /** A thread on another CPU loses this much to each shootdown IPI it takes. */
  ipiReceiveNs: number;
  /** Each mmap_lock acquisition by one thread costs each other running thread this much (cache-line traffic). */
  lockBounceNs: number;
  /** Each page fault or per-VMA-locked madvise of one thread costs each other running thread this much. */
  faultTaxNs: number;
  madviseTaxNs: number;
}

export const THREAD_COSTS: ThreadCosts = {
  // dontneed mode: touch + DONTNEED + wait = 15.0 us per op at 66.6k ops/s
  ipiSendWaitNs: 11_400,
  // dontneed and zeropage modes: the victim loses 8-9 us per flush of the other thread
  ipiReceiveNs: 8_720,
  // brk, mmap, mprotect modes: 20-36% slowdown at 200-320k ops/s of 1-3 acquisitions each
  lockBounceNs: 250,
  // touch mode: 6% at 680k faults/s; dontneed0: 27% at 2.1M calls/s
  faultTaxNs: 80,
  madviseTaxNs: 100,
};

/** Every cost the model uses: what a profile carries (src/experiment/profile.ts). */
export interface Costs {
  /** Which machine these were measured on, and how: printed beside any simulated time. */
  machine: string;
  /** ns per syscall or ioctl (and per page of the range ioctls, `NAME:pages`). */
  syscallNs: Record<string, number>;
  /** ns per page fault, by kind. */
  faultNs: Record<string, number>;
  work: WorkCosts;
  thread: ThreadCosts;
  /** User time per malloc-family call (the allocator's own work). */
  userCallNs: number;
  /** User time per byte the program writes into fresh memory (memset). */
  memsetNsPerByte: number;
}

/** The default costs: calibration.md and contention.md, Linux 6.18 on the recordings' machine. */
export const DEFAULT_COSTS: Costs = {
  machine: 'the kernel-oracle machine (Linux 6.18, 2 vCPUs, Firecracker): ../shared/kernel-oracle/calibration.md and contention.md',
  syscallNs: SYSCALL_NS,
  faultNs: FAULT_NS,
  work: WORK_COSTS,
  thread: THREAD_COSTS,
  userCallNs: 20,
  memsetNsPerByte: 0.1,
};
