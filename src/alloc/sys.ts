// The one interface allocators use to reach a kernel (as mimalloc's prim/ layer): the
// syscall-shaped calls of a simulated Process, and nothing else of the kernel's insides. The same
// allocator code would run over the real kernel through bindings of these calls.
import type { Process } from '../mm/process.js';

export type Sys = Pick<
  Process,
  | 'mmap'
  | 'munmap'
  | 'mprotect'
  | 'mremap'
  | 'madvise'
  | 'brk'
  | 'sbrk'
  | 'userfaultfd'
  | 'uffdApi'
  | 'uffdRegister'
  | 'uffdZeropage'
  | 'uffdCopy'
  | 'uffdMove'
  | 'sigaction'
  | 'read'
  | 'write'
  | 'fill'
  | 'read8'
  | 'write8'
  | 'readProc'
>;

/** Fields of /proc/self/smaps_rollup (kB), as an allocator reads its own footprint. */
export function smapsRollup(sys: Sys): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of sys.readProc('/proc/self/smaps_rollup').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
