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
}

type Listener<K extends keyof TraceEvents> = (...args: TraceEvents[K]) => void;

export class Tracepoints {
  private readonly listeners: { [K in keyof TraceEvents]?: Listener<K>[] } = {};

  /** Subscribe; returns the function that unsubscribes. */
  on<K extends keyof TraceEvents>(event: K, fn: Listener<K>): () => void {
    const l = (this.listeners[event] ??= []) as Listener<K>[];
    l.push(fn);
    return () => {
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
      if (!l.length) delete this.listeners[event];
    };
  }

  /** Whether anyone listens (callers on hot paths check before building arguments). */
  enabled(event: keyof TraceEvents): boolean {
    return this.listeners[event] !== undefined;
  }

  emit<K extends keyof TraceEvents>(event: K, ...args: TraceEvents[K]): void {
    const l = this.listeners[event];
    if (l) for (const fn of l) fn(...args);
  }
}
