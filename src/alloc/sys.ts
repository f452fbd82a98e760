// The one interface allocators use to reach a kernel (as mimalloc's prim/ layer): the
// syscall-shaped calls of a simulated Process, and nothing else of the kernel's insides. The same
// allocator code would run over the real kernel through bindings of these calls.
import type { Process } from '../mm/process.js';
import { Errno } from '../mm/uapi.js';

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
  | 'uffdUnregister'
  | 'uffdMonitor'
  | 'close'
  | 'sigaction'
  | 'read'
  | 'write'
  | 'copy'
  | 'fill'
  | 'read8'
  | 'write8'
  | 'readProc'
>;

/** One VMA as /proc/self/smaps describes it. */
export interface SmapsVma {
  start: number;
  end: number;
  perms: string;
  inode: number;
  name: string;
  /** VmFlags mnemonics. */
  flags: Set<string>;
  rssKb: number;
}

/** Parse /proc/self/smaps, as a library finds out what its address space looks like. */
export function readSmaps(sys: Sys): SmapsVma[] {
  return parseMaps(sys.readProc('/proc/self/smaps'));
}

/**
 * Parse /proc/self/maps: one line a VMA, no page-table walk behind it (so much cheaper than smaps
 * for the kernel to produce); VmFlags and Rss are left empty.
 */
export function readMaps(sys: Sys): SmapsVma[] {
  return parseMaps(sys.readProc('/proc/self/maps'));
}

/** The VMAs of a maps or smaps text (smaps adds each VMA's VmFlags and Rss under its line). */
function parseMaps(text: string): SmapsVma[] {
  const out: SmapsVma[] = [];
  // line by line without splitting: only the lines wanted become strings (a split of a large
  // smaps made a string of every line, and the collector most of the time of a defragmentation)
  let v: SmapsVma | undefined;
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const c = text.charCodeAt(at);
    // a VMA's header starts with its address in lowercase hex; the fields under it, with a capital
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ (\d+)\s*(.*)$/.exec(text.slice(at, nl));
      if (head) out.push((v = { start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], inode: Number(head[4]), name: head[5], flags: new Set(), rssKb: 0 }));
    } else if (v && text.startsWith('VmFlags:', at)) {
      for (const f of text.slice(at + 8, nl).trim().split(/\s+/)) v.flags.add(f);
    } else if (v && text.startsWith('Rss:', at)) {
      v.rssKb = parseInt(text.slice(at + 4, nl), 10);
    }
    at = nl + 1;
  }
  return out;
}

/** Fields of /proc/self/smaps_rollup (kB), as an allocator reads its own footprint. */
export function smapsRollup(sys: Sys): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of sys.readProc('/proc/self/smaps_rollup').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * mmap(2) as C code checks it: the address, or null when the kernel refused with an errno
 * (MAP_FAILED). Anything else (a bug) is not swallowed. The call is written out rather than
 * passed as a closure: V8 allocates a closure and its context on every call (half of what an
 * mmap-per-object replay allocated).
 */
export function tryMmap(sys: Sys, addr: number, length: number, prot: number, flags: number): number | null {
  try {
    return sys.mmap(addr, length, prot, flags);
  } catch (e) {
    return refused(e);
  }
}

/** mremap(2) as C code checks it: the new address, or null when refused with an errno. */
export function tryMremap(sys: Sys, oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr = 0): number | null {
  try {
    return sys.mremap(oldAddr, oldLength, newLength, flags, newAddr);
  } catch (e) {
    return refused(e);
  }
}

/** An errno is the caller's null; anything else goes on. */
function refused(e: unknown): null {
  if (e instanceof Errno) return null;
  throw e;
}
