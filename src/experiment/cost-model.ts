// Simulated time: counts of what the kernel did, priced with costs measured on a real kernel.
// The constants are the medians in ../shared/kernel-oracle/calibration.md (Linux 6.18, this
// machine's kind), measured by kernel-oracle/calibrate.c; `tools/recorder --bench` re-measures the
// per-call ones on the user's own kernel.

/** ns per syscall or ioctl, by the names Mm.syscalls counts. */
export const SYSCALL_NS: Record<string, number> = {
  mmap: 1810, // half of mmap+munmap 4 KiB with 10k VMAs (3618)
  munmap: 1810,
  brk: 1810,
  mprotect: 1600,
  mremap: 8700, // move of 2 MiB populated
  madvise: 1760, // MADV_DONTNEED of one populated 4 KiB page
  // userfaultfd range ioctls: a call, then each page (`NAME:pages` counts pages done)
  UFFDIO_ZEROPAGE: 400,
  'UFFDIO_ZEROPAGE:pages': 254,
  UFFDIO_COPY: 400,
  'UFFDIO_COPY:pages': 1315,
  UFFDIO_MOVE: 400,
  'UFFDIO_MOVE:pages': 803,
  UFFDIO_REGISTER: 1600,
  UFFDIO_API: 500,
  userfaultfd: 1000,
};

/** ns per page fault, by kind. */
export const FAULT_NS: Record<string, number> = {
  anon: 1860,
  cow: 1860,
  zero: 877,
  file: 1860,
  thp: 108_000, // allocate and clear 2 MiB
  hugeZero: 877,
  userfault: 2940, // the SIGBUS round trip
  sigsegv: 2940,
  sigbus: 2940,
};

/** The price of the kernel's work: each syscall or ioctl (and page of one) and each fault, by kind. The one place costs are applied to counts. */
export function kernelWorkNs(syscalls: Record<string, number>, faults: Record<string, number>, costs: Costs = DEFAULT_COSTS): number {
  let ns = 0;
  for (const k in syscalls) ns += (costs.syscallNs[k] ?? 1000) * syscalls[k];
  for (const k in faults) ns += (costs.faultNs[k] ?? 1000) * faults[k];
  return ns;
}

/** kernelWorkNs, rounded to a whole ns. */
export function simulatedNs(syscalls: Record<string, number>, faults: Record<string, number>, costs: Costs = DEFAULT_COSTS): number {
  return Math.round(kernelWorkNs(syscalls, faults, costs));
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
  /** MADV_DONTNEED of a range with nothing present, and each present page beyond the first. */
  madviseEmptyNs: number;
  zapPageNs: number;
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
  madviseEmptyNs: 476,
  zapPageNs: 236,
};

/** Every cost the model uses: what a profile carries (src/experiment/profile.ts). */
export interface Costs {
  /** Which machine these were measured on, and how: printed beside any simulated time. */
  machine: string;
  /** ns per syscall or ioctl (and per page of the range ioctls, `NAME:pages`). */
  syscallNs: Record<string, number>;
  /** ns per page fault, by kind. */
  faultNs: Record<string, number>;
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
  thread: THREAD_COSTS,
  userCallNs: 20,
  memsetNsPerByte: 0.1,
};
