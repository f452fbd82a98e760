// The kinds of page fault the simulator counts per mm (an experiment's `faults` object).
export const FAULT_KINDS = [
  'anon', // write to untouched anonymous memory: a new zeroed page
  'zero', // read of untouched anonymous memory: the shared zero page
  'cow', // write to a zero page or a private copy of a file page
  'thp', // a PMD-sized THP allocated at fault time
  'hugeZero', // read fault mapped the huge zero page
  'file', // shmem/memfd page cache
  'userfault', // delivered to a userfaultfd monitor (or SIGBUS in sigbus mode)
  'sigsegv',
  'sigbus',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** All the faults of a count by kind, added up (named reads: it runs after every call of a timed run). */
export function totalFaults(f: Readonly<Record<FaultKind, number>>): number {
  return f.anon + f.zero + f.cow + f.thp + f.hugeZero + f.file + f.userfault + f.sigsegv + f.sigbus;
}

/** The faults weighted per kind (weights in FAULT_KINDS order), added in that order. */
export function weightedFaults(f: Readonly<Record<FaultKind, number>>, w: Float64Array): number {
  return f.anon * w[0] + f.zero * w[1] + f.cow * w[2] + f.thp * w[3] + f.hugeZero * w[4] + f.file * w[5] + f.userfault * w[6] + f.sigsegv * w[7] + f.sigbus * w[8];
}
