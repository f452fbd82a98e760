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
