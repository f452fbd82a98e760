// A userfaultfd context (fs/userfaultfd.c: struct userfaultfd_ctx) and how faults and events reach
// its monitor. The monitor is modelled as a program would write it: a handler called
// synchronously with each message (it resolves faults with ioctls), or a queue the program
// drains with read(). A fault nobody resolves is reported as a hang, not spun on.
import { DebugLog } from '../debug-log.js';
import { FAULT_HANG, FAULT_MAPPED, FAULT_SIGBUS } from '../fault.js';
import type { Mm, UserfaultHook } from '../mm.js';
import { PTE_NONE, PTE_WP_MARKER, PTEF_UFFD_WP, pteIndex } from '../page-table.js';
import { modPow2, PAGE_SIZE } from '../uapi.js';
import { VM_UFFD_MINOR, VM_UFFD_WP, type UffdCtxRef, type Vma } from '../vma.js';
import {
  UFFD_EVENT_PAGEFAULT,
  UFFD_EVENT_REMAP,
  UFFD_EVENT_REMOVE,
  UFFD_EVENT_UNMAP,
  UFFD_FEATURE_EVENT_REMAP,
  UFFD_FEATURE_EVENT_REMOVE,
  UFFD_FEATURE_EVENT_UNMAP,
  UFFD_FEATURE_EXACT_ADDRESS,
  UFFD_FEATURE_SIGBUS,
  UFFD_FEATURE_THREAD_ID,
  UFFD_PAGEFAULT_FLAG_MINOR,
  UFFD_PAGEFAULT_FLAG_WP,
  UFFD_PAGEFAULT_FLAG_WRITE,
  type UffdMsg,
} from './uapi.js';

const dbg = new DebugLog('uffd:fault');

/** A monitor: called with each message as it is sent. */
export type UffdMonitor = (msg: UffdMsg, ctx: UffdContext) => void;

let nextCtxId = 1;

export class UffdContext implements UffdCtxRef {
  readonly id = nextCtxId++;
  /** Features agreed in the UFFDIO_API handshake. */
  features = 0;
  /** Whether UFFDIO_API has been done (UFFD_STATE_RUNNING). */
  ready = false;
  /** Messages not yet read (when no monitor handler is attached). */
  readonly queue: UffdMsg[] = [];
  monitor: UffdMonitor | null = null;
  /** Every message sent, for experiments that want the log. */
  sent = 0;

  constructor(
    readonly mm: Mm,
    /** UFFD_USER_MODE_ONLY: kernel-mode faults are not handled. */
    readonly userModeOnly: boolean,
    readonly nonblock: boolean,
  ) {}

  has(feature: number): boolean {
    return (this.features & feature) !== 0;
  }

  send(msg: UffdMsg): void {
    this.sent++;
    if (this.monitor) this.monitor(msg, this);
    else this.queue.push(msg);
  }
}

/** The page is still what made it fault: the monitor did not resolve it. */
function stillFaulting(mm: Mm, addr: number, reason: number): boolean {
  const e = mm.pt.pmd(addr);
  if (e && e.huge !== 0) return reason === VM_UFFD_WP && (e.hugeFlags & PTEF_UFFD_WP) !== 0;
  const v = mm.pt.pte(addr);
  if (reason === VM_UFFD_WP) {
    if (v === PTE_WP_MARKER) return true;
    const i = pteIndex(addr);
    return v > 0 && (e!.pteFlags![i] & PTEF_UFFD_WP) !== 0;
  }
  return v === PTE_NONE || v === PTE_WP_MARKER;
}

/** The mm's route from faults and VMA changes to the contexts registered on its VMAs. */
export class UffdLayer implements UserfaultHook {
  constructor(private readonly mm: Mm) {}

  /** handle_userfault (fs/userfaultfd.c). */
  fault(vma: Vma, addr: number, reason: number, write: boolean, kernel: boolean): number {
    const ctx = vma.uffd as UffdContext;
    const mm = this.mm;
    // (a kernel-mode fault already holds mmap_lock for reading: see MmapLock.kernelFault)
    if (kernel && ctx.userModeOnly) return FAULT_SIGBUS; // not delivered: the syscall's copy fails
    if (ctx.has(UFFD_FEATURE_SIGBUS)) {
      mm.faults.sigbus++;
      if (dbg.enabled) dbg.log('SIGBUS at 0x%s', addr.toString(16));
      return FAULT_SIGBUS;
    }
    const flags =
      (write ? UFFD_PAGEFAULT_FLAG_WRITE : 0) |
      (reason === VM_UFFD_WP ? UFFD_PAGEFAULT_FLAG_WP : 0) |
      (reason === VM_UFFD_MINOR ? UFFD_PAGEFAULT_FLAG_MINOR : 0);
    const address = ctx.has(UFFD_FEATURE_EXACT_ADDRESS) ? addr : addr - modPow2(addr, PAGE_SIZE);
    if (dbg.enabled) dbg.log('fault 0x%s flags %d', address.toString(16), flags);
    ctx.send({ event: UFFD_EVENT_PAGEFAULT, flags, address, ptid: ctx.has(UFFD_FEATURE_THREAD_ID) ? 1 : 0 });
    // the fault returns VM_FAULT_MAPPED once woken, and is retried under mmap_lock for reading
    mm.lock.read();
    if (!ctx.monitor || stillFaulting(mm, addr, reason)) return FAULT_HANG;
    return FAULT_MAPPED;
  }

  /** userfaultfd_remove: MADV_DONTNEED/REMOVE of a registered range. */
  remove(vma: Vma, start: number, end: number): boolean {
    const ctx = vma.uffd as UffdContext;
    if (!ctx.has(UFFD_FEATURE_EVENT_REMOVE)) return false;
    ctx.send({ event: UFFD_EVENT_REMOVE, start, end });
    return true;
  }

  /** userfaultfd_unmap_prep/complete: one UNMAP per context with VMAs in the range. */
  unmap(start: number, end: number): void {
    const told = new Set<UffdContext>();
    for (const v of this.mm.vmas.overlapping(start, end)) {
      const ctx = v.uffd as UffdContext | null;
      if (!ctx || told.has(ctx) || !ctx.has(UFFD_FEATURE_EVENT_UNMAP)) continue;
      told.add(ctx);
      ctx.send({ event: UFFD_EVENT_UNMAP, start, end });
    }
  }

  /** mremap_userfaultfd_prep/complete: with EVENT_REMAP the moved VMA stays registered. */
  remap(moved: Vma, from: number, to: number, len: number): boolean {
    const ctx = moved.uffd as UffdContext;
    if (!ctx.has(UFFD_FEATURE_EVENT_REMAP)) return false;
    ctx.send({ event: UFFD_EVENT_REMAP, from, to, len });
    return true;
  }
}

