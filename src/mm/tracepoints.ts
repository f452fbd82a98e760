// Kernel tracepoints: typed events the mm emits for whoever subscribes, as Linux exposes
// mm/vma changes, page faults and TLB flushes to perf and ftrace. The kernel layer does not know
// who listens and keeps nothing for them: with no subscriber an emit is one property check, and a
// subscriber sees every event (no cap).

export interface TraceEvents {
  /** A VMA's range was written (split, merged, modified, inserted, removed) under mmap_lock. */
  vma_write: [start: number, end: number];
  /** A page fault was taken at addr (exceptions:page_fault_user / page_fault_kernel). */
  page_fault: [addr: number, write: boolean];
  /** A TLB flush was done (tlb:tlb_flush): entries gathered and IPIs sent to other CPUs. */
  tlb_flush: [entries: number, ipis: number];
  /**
   * A syscall or ioctl was counted (raw_syscalls:sys_enter), by the name Mm.syscalls counts it
   * under; the range ioctls also count their pages as `NAME:pages`.
   */
  sys_enter: [name: string, count: number];
}

type Listener<K extends keyof TraceEvents> = (...args: TraceEvents[K]) => void;
type Listeners = { [K in keyof TraceEvents]: Listener<K>[] };

export class Tracepoints {
  // one array per event, always there: emit and enabled are a property read and a length check
  private readonly listeners: Listeners = { vma_write: [], page_fault: [], tlb_flush: [], sys_enter: [] };

  /** Subscribe; returns the function that unsubscribes. */
  on<K extends keyof TraceEvents>(event: K, fn: Listener<K>): () => void {
    const l = this.listeners[event] as Listener<K>[];
    l.push(fn);
    return () => {
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
    };
  }

  /** Whether anyone listens (callers on hot paths check before building arguments). */
  enabled(event: keyof TraceEvents): boolean {
    return this.listeners[event].length > 0;
  }

  /** Every event has at most two fields: they are passed as they are, without an arguments array. */
  emit<K extends keyof TraceEvents>(event: K, a: TraceEvents[K][0], b: TraceEvents[K][1]): void {
    const l = this.listeners[event] as ((a: TraceEvents[K][0], b: TraceEvents[K][1]) => void)[];
    for (let i = 0; i < l.length; i++) l[i](a, b);
  }
}
