// One run: a workload replayed through one allocator in a fresh simulated process, every newly
// allocated byte written (as the anchors' replayer memsets it), with the kernel's counters
// sampled along the way. The experiment reads the simulated kernel the way perf and /proc let a
// researcher read a real one; the allocator itself only sees syscalls.
import type { Allocator } from '../alloc/allocator.js';
import { Process } from '../mm/process.js';
import { PAGE_SIZE, PMD_SIZE } from '../mm/uapi.js';
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../workloads/events.js';
import { ALLOCATORS } from './allocators.js';
import { type Costs, DEFAULT_COSTS, kernelWork, type KernelWork, simulatedNs } from './cost-model.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import { type LockWaitNs, Timeline } from './timeline.js';
import { dealtThread, ShapeCounter, type WorkloadShape } from '../workloads/shape.js';

export type { WorkloadShape } from '../workloads/shape.js';

export interface Sample {
  event: number;
  vmas: number;
  rssBytes: number;
  thpBytes: number;
  liveBytes: number;
  /** Cumulative since the start: mmap_lock write acquisitions, page faults, TLB shootdowns. */
  lockWrites: number;
  faults: number;
  tlbFlushes: number;
}

/** One (workload, allocator) result. Field names are a stable contract (README: JSON output). */
export interface RunResult extends Snapshot {
  /** Time until the last thread finishes: kernel work, user time, lock waits and shootdowns. */
  simulatedNs: number;
  workload: string;
  allocator: string;
  /** The profile (kernel and costs) the run was simulated under. */
  profile: string;
  events: number;
  threads: number;
  cpus: number;
  /** Time threads spent waiting for locks. */
  lockWaitNs: LockWaitNs;
  tlbIpis: number;
  /** Thread time lost to TLB shootdowns (the flusher's wait and the IPIs others took). */
  shootdownNs: number;
  /** Lock wait of each thread, in ns. */
  lockWaitNsByThread: number[];
  vmaPeak: number;
  rssPeakBytes: number;
  liveBytesPeak: number;
  wallMs: number;
  /** Allocations that returned NULL. */
  failures: number;
  /**
   * Thread time the run's calls took, all threads together, without waits: what a replay that
   * runs one thread at a time (a native replay handing a baton at each `t` line) takes. Equal to
   * simulatedNs on one thread.
   */
  cpuNs: number;
  /** Trace lines that broke the protocol and were skipped (absent when there were none), and the first. */
  traceErrors?: number;
  firstTraceError?: string | null;
  samples?: Sample[];
}

export interface RunOptions {
  /** Samples to take over the run (for charts). @defaultValue 100 */
  samples?: number;
  /** Keep the samples in the result. @defaultValue false */
  keepSamples?: boolean;
  /** Called now and then with the fraction done. */
  progress?: (done: number) => void;
  /**
   * Threads to run the workload on. A trace's own `t` events decide who runs what; a workload
   * without them is dealt out in blocks of 64 events. @defaultValue the trace's threads, or 1
   */
  threads?: number;
  /** Simulated CPUs. @defaultValue one per thread */
  cpus?: number;
  /**
   * Keep the bytes the program writes (tests, byte verification). A run's metrics never read
   * them, so by default pages keep only zero-or-not. @defaultValue false
   */
  keepBytes?: boolean;
  /** The uffd heap's reservation (a 64 GiB one caps a heap near that size). @defaultValue 64 GiB */
  uffdHeapBytes?: number;
  /** The kernel and costs to simulate. @defaultValue DEFAULT_PROFILE */
  profile?: Profile;
  /** Receives the process at the end (for `maps`, or the defragment step). */
  onEnd?: (proc: Process) => void;
}

/** The end-of-run metrics of a process, as they stand now, with the kernel's work counted (KernelWork). */
export interface Snapshot extends KernelWork {
  vmaFinal: number;
  mmapLockWrite: number;
  mmapLockRead: number;
  rssFinalBytes: number;
  anonHugeBytesFinal: number;
  thpCoverage: number;
  /** Kernel memory for the page tables (PTE, PMD and PUD pages). */
  pageTableBytes: number;
  /** The kernel's work (the counts) priced by the profile's costs, without user time or threads. */
  kernelNs: number;
}

export function snapshot(proc: Process, costs: Costs = DEFAULT_COSTS): Snapshot {
  const rss = proc.mm.rss * PAGE_SIZE;
  const huge = thpBytes(proc);
  const work = kernelWork(proc.mm);
  return {
    vmaFinal: proc.mm.mapCount,
    mmapLockWrite: proc.mm.lock.total.write,
    mmapLockRead: proc.mm.lock.total.read,
    rssFinalBytes: rss,
    anonHugeBytesFinal: huge,
    thpCoverage: rss ? huge / rss : 0,
    pageTableBytes: proc.mm.pt.bytes(),
    kernelNs: simulatedNs(work, costs),
    ...work,
    // the mm's own records go on counting: the snapshot keeps copies
    syscalls: { ...work.syscalls },
    faults: { ...work.faults },
  };
}

/** AnonHugePages of the process, from the kernel's counter. */
export function thpBytes(proc: Process): number {
  return proc.mm.anonHugePmds * PMD_SIZE;
}

/** The shape of an in-memory workload. */
export function shapeOf(w: EventList, threads?: number): WorkloadShape {
  const counter = new ShapeCounter(threads);
  for (let i = 0; i < w.length; i++) counter.push(w.op[i], w.x[i]);
  return counter.shape(w.name, w.fromTrace, w.maxId + 1, w);
}

/**
 * What the traces' replayer (../shared/traces/tools/replay.c) does with malloc before the first
 * event: zlib's gzopen with gzbuffer(256 KiB) allocates a 256 KiB input and a 512 KiB output
 * buffer, and gzclose frees them. With glibc that raises the mmap threshold to the freed 516 KiB
 * chunk and the trim threshold to twice that, which is the state the anchors were measured in.
 */
function replayerPreamble(a: Allocator): void {
  const input = a.malloc(256 * 1024);
  const output = a.malloc(512 * 1024);
  a.free(output);
  a.free(input);
}

/**
 * Byte written into newly allocated memory: never zero, so every page really gets data (the
 * native replayer, tools/replay.c, and verify write the same).
 */
export const TOUCH = 0xa5;

export function runOne(workload: EventList, allocatorName: string, opts: RunOptions = {}): RunResult {
  const run = new Run(shapeOf(workload, opts.threads), allocatorName, opts);
  run.feed(workload);
  return run.finish();
}

/** A run fed its workload in chunks (a streamed trace): the same result as runOne on the whole. */
export async function runChunks(shape: WorkloadShape, chunks: AsyncIterable<EventList>, allocatorName: string, opts: RunOptions = {}): Promise<RunResult> {
  const run = new Run(shape, allocatorName, opts);
  for await (const c of chunks) run.feed(c);
  return run.finish();
}

/** One run in progress: a fresh process and allocator, fed events in order. */
class Run {
  private readonly t0 = performance.now();
  private readonly profile: Profile;
  private readonly proc: Process;
  private readonly a: Allocator;
  private readonly ptr: Float64Array;
  private readonly size: Float64Array;
  private readonly every: number;
  private readonly samples: Sample[] = [];
  private readonly tl: Timeline;
  private readonly cpus: number;
  private vmaPeak: number;
  private livePeak = 0;
  private failures = 0;
  /** Index of the next event over the whole workload, and the thread running now. */
  private i = 0;
  private tid = 0;
  private current = -1;

  constructor(
    private readonly shape: WorkloadShape,
    private readonly allocatorName: string,
    private readonly opts: RunOptions,
  ) {
    const spec = ALLOCATORS[allocatorName];
    if (!spec) throw new Error(`unknown allocator '${allocatorName}' (known: ${Object.keys(ALLOCATORS).join(', ')})`);
    this.profile = opts.profile ?? DEFAULT_PROFILE;
    this.proc = new Process({ settings: this.profile.kernel.settings, keepBytes: opts.keepBytes ?? false });
    this.a = spec.make(this.proc, { uffdHeapBytes: opts.uffdHeapBytes });
    this.ptr = new Float64Array(shape.slots);
    this.size = new Float64Array(shape.slots);
    this.every = Math.max(1, Math.floor(shape.length / (opts.samples ?? 100)));
    this.vmaPeak = this.proc.mm.mapCount;
    this.cpus = opts.cpus ?? shape.threads;
    if (shape.threads < 1 || this.cpus < 1) throw new Error('threads and cpus must be at least 1');
    if (shape.fromTrace) replayerPreamble(this.a);
    // the setup the allocator did is charged to thread 0
    this.tl = new Timeline(this.proc, shape.threads, this.cpus, this.profile.costs);
    this.tl.charge(0);
  }

  private sample(i: number): void {
    const { proc, a } = this;
    let faults = 0;
    for (const n of Object.values(proc.mm.faults)) faults += n;
    const s = { event: i, vmas: proc.mm.mapCount, rssBytes: proc.mm.rss * PAGE_SIZE, thpBytes: thpBytes(proc), liveBytes: a.liveBytes, lockWrites: proc.mm.lock.total.write, faults, tlbFlushes: proc.mm.tlb.flushes };
    if (this.opts.keepSamples) this.samples.push(s);
    this.opts.progress?.(i / this.shape.length);
  }

  feed(w: EventList): void {
    this.i = this.feedFrom(w, this.i);
  }

  /**
   * The events of w, the first being the whole workload's event i; returns the index after the
   * last. (Nothing follows the loop but the return: V8 compiles the loop on stack (OSR) while it
   * runs, and a store after it that had never run deoptimized that code at the end of every
   * chunk — 53 times on python x mmap — so each chunk began again in the interpreter.)
   */
  private feedFrom(w: EventList, i: number): number {
    const { proc, a, ptr, size, tl, shape } = this;
    const mm = proc.mm;
    const costs = this.profile.costs;
    const { op, x, y, z } = w;
    const every = this.every;
    for (let k = 0; k < w.length; k++, i++) {
      const o = op[k];
      if (o === OP_THREAD) {
        if (!shape.dealt) this.tid = x[k];
        continue;
      }
      const tid = !shape.dealt ? this.tid : shape.threads === 1 ? 0 : dealtThread(i, shape.threads);
      if (tid !== this.current) {
        a.setThread?.(tid);
        this.current = tid;
      }
      let touched = 0;
      if (o === OP_FREE) {
        a.free(ptr[x[k]]);
        ptr[x[k]] = 0;
      } else if (o === OP_REALLOC) {
        touched = this.realloc(x[k], y[k], z[k]);
      } else {
        const n = o === OP_MALLOC ? y[k] : o === OP_CALLOC ? y[k] * z[k] : z[k];
        const p = o === OP_MALLOC ? a.malloc(n) : o === OP_CALLOC ? a.calloc(y[k], z[k]) : a.alignedAlloc(y[k], n);
        if (!p) this.failures++;
        ptr[x[k]] = p;
        size[x[k]] = n;
        if (p && n > 0) proc.fill(p, (touched = n), TOUCH);
      }
      // the allocator's own work and the program's memset are user time
      tl.charge(tid, costs.userCallNs + touched * costs.memsetNsPerByte);
      if (i === shape.last[tid]) tl.finished[tid] = true;
      const vmas = mm.mapCount;
      if (vmas > this.vmaPeak) this.vmaPeak = vmas;
      if (a.liveBytes > this.livePeak) this.livePeak = a.liveBytes;
      if (i % every === 0) this.sample(i);
    }
    return i;
  }

  /** realloc of object x into object y (n bytes); returns the bytes the program writes (its growth). */
  private realloc(x: number, y: number, n: number): number {
    const { ptr, size } = this;
    const old = size[x];
    const p = this.a.realloc(ptr[x], n);
    if (!p && n) this.failures++;
    ptr[x] = 0;
    ptr[y] = p;
    size[y] = n;
    if (!(p && n > old)) return 0;
    this.proc.fill(p + old, n - old, TOUCH);
    return n - old;
  }

  finish(): RunResult {
    const { proc, tl, shape, opts } = this;
    this.sample(shape.length);
    tl.close();
    const end = snapshot(proc, this.profile.costs);
    const wallMs = Math.round(performance.now() - this.t0);
    opts.onEnd?.(proc);
    return {
      workload: shape.name,
      allocator: this.allocatorName,
      profile: this.profile.name,
      events: shape.events,
      threads: shape.threads,
      cpus: this.cpus,
      lockWaitNs: { mmapLockRead: Math.round(tl.lockWaitNs.mmapLockRead), mmapLockWrite: Math.round(tl.lockWaitNs.mmapLockWrite), vmaLock: Math.round(tl.lockWaitNs.vmaLock) },
      tlbIpis: proc.mm.tlb.ipis,
      shootdownNs: Math.round(tl.shootdownNs),
      lockWaitNsByThread: Array.from(tl.waitByThread, Math.round),
      vmaPeak: this.vmaPeak,
      ...end,
      // with threads, simulated time is when the last one finishes
      simulatedNs: tl.makespan,
      cpuNs: Math.round(tl.busyNs),
      rssPeakBytes: proc.mm.rssPeak * PAGE_SIZE,
      liveBytesPeak: this.livePeak,
      wallMs,
      failures: this.failures,
      ...(shape.traceErrors ? { traceErrors: shape.traceErrors, firstTraceError: shape.firstTraceError ?? null } : {}),
      ...(opts.keepSamples ? { samples: this.samples } : {}),
    };
  }
}
