// Loads and stores to user memory, page by page and in address order, as a CPU (user mode) or a
// syscall's copy_from_user/copy_to_user (kernel mode) performs them. Each page is resolved through
// the fault path; the first page that cannot be resolved stops the access.
import { access, type Access, FAULT_HANG, FAULT_HWPOISON, FAULT_SEGV_ACCERR, FAULT_SEGV_MAPERR, FAULT_SIGBUS, resolvePage } from './fault.js';
import { ZERO_PFN } from './frames.js';
import type { Mm } from './mm.js';
import { BUS_ADRERR, BUS_MCEERR_AR, modPow2, PAGE_SIZE, SEGV_ACCERR, SEGV_MAPERR, SignalError } from './uapi.js';

/** A fault a userfaultfd monitor never resolves: the faulting thread would sleep forever. */
export class FaultHang extends Error {
  constructor(readonly addr: number) {
    super(`thread hangs in a userfaultfd fault at 0x${addr.toString(16)} that no monitor resolves`);
    this.name = 'FaultHang';
  }
}

/** The signal a failed user-mode access raises. */
export function faultSignal(code: number, addr: number): SignalError | FaultHang {
  switch (code) {
    case FAULT_SEGV_MAPERR:
      return new SignalError('SIGSEGV', SEGV_MAPERR, addr);
    case FAULT_SEGV_ACCERR:
      return new SignalError('SIGSEGV', SEGV_ACCERR, addr);
    case FAULT_HWPOISON:
      return new SignalError('SIGBUS', BUS_MCEERR_AR, addr);
    case FAULT_HANG:
      return new FaultHang(addr);
    case FAULT_SIGBUS:
    default:
      return new SignalError('SIGBUS', BUS_ADRERR, addr);
  }
}

/** Outcome of a ranged access: bytes done, and the failure that stopped it (0 if none). */
export interface AccessResult {
  done: number;
  fault: number;
  faultAddr: number;
}

/**
 * Walk [addr, addr + len) page by page, faulting each page in for the access, and hand each piece
 * (its frame, offset in the page, offset in the range, length) to `piece`.
 */
function eachPage(
  mm: Mm,
  addr: number,
  len: number,
  how: Access,
  piece: (pfn: number, off: number, at: number, n: number) => void,
): AccessResult {
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const off = modPow2(a, PAGE_SIZE);
    const n = Math.min(len - done, PAGE_SIZE - off);
    const pfn = resolvePage(mm, a, how);
    if (pfn < 0) return { done, fault: pfn, faultAddr: a };
    piece(pfn, off, done, n);
    done += n;
  }
  return { done, fault: 0, faultAddr: 0 };
}

/** Copy len bytes of user memory at addr into out (at outOff). */
export function readUser(mm: Mm, addr: number, out: Uint8Array, outOff: number, len: number, mode: 'user' | 'kernel'): AccessResult {
  const frames = mm.frames;
  return eachPage(mm, addr, len, access(mode, false), (pfn, off, at, n) => {
    if (pfn === ZERO_PFN) out.fill(0, outOff + at, outOff + at + n);
    else frames.read(pfn, off, out, outOff + at, n);
  });
}

/** Store len bytes from src (at srcOff) into user memory at addr; src null stores `byte` instead. */
export function writeUser(
  mm: Mm,
  addr: number,
  src: Uint8Array | null,
  srcOff: number,
  len: number,
  byte: number,
  mode: 'user' | 'kernel',
): AccessResult {
  const frames = mm.frames;
  return eachPage(mm, addr, len, access(mode, true), (pfn, off, at, n) => {
    // a page that is still all zeroes stays byte-less while zeroes are stored into it
    if (src) frames.write(pfn, off, src, srcOff + at, n);
    else frames.fill(pfn, off, n, byte);
  });
}
