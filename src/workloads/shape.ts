// A workload's shape: what a replay must know before its first event (sizes, object slots, and
// which thread runs each event). One counter learns it, from an event list in memory or from
// the first pass over a streamed trace, so the two can never disagree.
import { OP_THREAD } from './events.js';

/** Events go to threads in blocks of this many when dealt over --threads. */
export const DEAL_BLOCK = 64;

export interface WorkloadShape {
  name: string;
  /** Read from a trace file (replays then start as the traces' replayer does). */
  fromTrace: boolean;
  /** Entries, thread switches included; and malloc-family events alone. */
  length: number;
  events: number;
  /** Object slots (dense IDs). */
  slots: number;
  threads: number;
  /** True when events are dealt over --threads rather than taken from the workload's `t` events. */
  dealt: boolean;
  /** Per thread, the index of its last event (-1 for a thread that has none). */
  last: number[];
  /** Trace lines that broke the protocol and were skipped, and the first of them. */
  traceErrors?: number;
  firstTraceError?: string | null;
}

/** The thread that runs entry i when events are dealt over `threads`. */
export function dealtThread(i: number, threads: number): number {
  return Math.floor(i / DEAL_BLOCK) % threads;
}

/** Counts a workload's entries, in order, into its shape (an EventSink for the trace decoder). */
export class ShapeCounter {
  private i = 0;
  private events = 0;
  private cur = 0;
  private ownThreads = 0;
  private readonly lastOwn: number[] = [];
  private readonly lastDealt: number[] = [];

  /** deal: spread events over this many threads, ignoring `t` events. */
  constructor(private readonly deal?: number) {}

  push(op: number, x: number): void {
    if (op === OP_THREAD) {
      this.cur = x;
      if (x + 1 > this.ownThreads) this.ownThreads = x + 1;
    } else {
      this.events++;
      this.lastOwn[this.cur] = this.i;
      this.lastDealt[dealtThread(this.i, this.deal ?? 1)] = this.i;
    }
    this.i++;
  }

  shape(name: string, fromTrace: boolean, slots: number, errors?: { traceErrors: number; firstTraceError: string | null }): WorkloadShape {
    const dealt = this.ownThreads === 0 || this.deal !== undefined;
    const threads = dealt ? (this.deal ?? 1) : this.ownThreads;
    const last = dealt ? this.lastDealt : this.lastOwn;
    return {
      name,
      fromTrace,
      length: this.i,
      events: this.events,
      slots,
      threads,
      dealt,
      last: Array.from({ length: threads }, (_, t) => last[t] ?? -1),
      ...(errors?.traceErrors ? errors : {}),
    };
  }
}
