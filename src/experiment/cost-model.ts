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
  UFFDIO_ZEROPAGE: 654,
  UFFDIO_COPY: 1715,
  UFFDIO_MOVE: 1203,
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

export function simulatedNs(syscalls: Record<string, number>, faults: Record<string, number>): number {
  let ns = 0;
  for (const [k, n] of Object.entries(syscalls)) ns += (SYSCALL_NS[k] ?? 1000) * n;
  for (const [k, n] of Object.entries(faults)) ns += (FAULT_NS[k] ?? 1000) * n;
  return Math.round(ns);
}
