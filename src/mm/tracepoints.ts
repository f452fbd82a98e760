// Kernel tracepoints: typed events the mm emits for whoever subscribes, as Linux exposes
// mm/vma changes, page faults and TLB flushes to perf and ftrace. The kernel layer does not know
// who listens and keeps nothing for them: with no subscriber an event costs one property check, and a
// subscriber sees every event (no cap).

export interface TraceEvents {
  /** A VMA's range was written (split, merged, modified, inserted, removed) under mmap_lock. */
  vma_write: [start: number, end: number];
  /** A page fault was taken at addr (exceptions:page_fault_user / page_fault_kernel). */
  page_fault: [addr: number, write: boolean];
  /** A TLB flush was done (tlb:tlb_flush): entries gathered and IPIs sent to other CPUs. */
  tlb_flush: [entries: number, ipis: number];
  /**
   * A syscall or ioctl was counted (raw_syscalls:sys_enter), by its number (syscall-nr.ts; the
   * name Mm.syscalls counts it under is syscallName(nr)); the range ioctls also count their pages
   * as `NAME:pages`.
   */
  sys_enter: [nr: number, count: number];
}

type Listener<K extends keyof TraceEvents> = (...args: TraceEvents[K]) => void;

/** One tracepoint: its subscribers, a check, and the event (every event has at most two fields). */
export class Tracepoint<A, B> {
  readonly listeners: ((a: A, b: B) => void)[] = [];

  /** Whether anyone listens (callers on hot paths check before building arguments). */
  get enabled(): boolean {
    return this.listeners.length > 0;
  }

  emit(a: A, b: B): void {
    const l = this.listeners;
    for (let i = 0; i < l.length; i++) l[i](a, b);
  }
}

type Points = { [K in keyof TraceEvents]: Tracepoint<TraceEvents[K][0], TraceEvents[K][1]> };

export class Tracepoints implements Points {
  // one object per event, each a named field: a hot path's check is a monomorphic load, where
  // one table indexed by the event's name made every check and emit a megamorphic keyed load
  readonly vma_write = new Tracepoint<number, number>();
  readonly page_fault = new Tracepoint<number, boolean>();
  readonly tlb_flush = new Tracepoint<number, number>();
  readonly sys_enter = new Tracepoint<number, number>();

  /** Subscribe; returns the function that unsubscribes. */
  on<K extends keyof TraceEvents>(event: K, fn: Listener<K>): () => void {
    const l = (this as Points)[event].listeners as unknown as Listener<K>[];
    l.push(fn);
    return () => {
      const i = l.indexOf(fn);
      if (i >= 0) l.splice(i, 1);
    };
  }
}
