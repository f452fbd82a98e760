// One run: a workload replayed through one allocator in a fresh simulated process, every newly
// allocated byte written (as the anchors' replayer memsets it), with the kernel's counters
// sampled along the way. The experiment reads the simulated kernel the way perf and /proc let a
// researcher read a real one; the allocator itself only sees syscalls.
import type { Allocator } from '../alloc/allocator.js';
import { Process } from '../mm/process.js';
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../workloads/events.js';
import { ALLOCATORS } from './allocators.js';
import { type Costs, DEFAULT_COSTS, simulatedNs } from './cost-model.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import { type LockWaitNs, Timeline } from './timeline.js';

export interface Sample {
  event: number;
  vmas: number;
  rssBytes: number;
  thpBytes: number;
  liveBytes: number;
}

/** One (workload, allocator) result. Field names are a stable contract (README: JSON output). */
export interface RunResult extends Snapshot {
  workload: string;
  allocator: string;
  /** The profile (kernel and costs) the run was simulated under. */
  profile: string;
  events: number;
  threads: number;
  cpus: number;
  /** Time threads spent waiting for locks. */
  lockWaitNs: LockWaitNs;
  tlbFlushes: number;
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
  /** The kernel and costs to simulate. @defaultValue DEFAULT_PROFILE */
  profile?: Profile;
  /** Receives the process at the end (for `maps`, or the defragment step). */
  onEnd?: (proc: Process) => void;
}

/** The end-of-run metrics of a process, as they stand now. */
export interface Snapshot {
  vmaFinal: number;
  mmapLockWrite: number;
  mmapLockRead: number;
  rssFinalBytes: number;
  anonHugeBytesFinal: number;
  thpCoverage: number;
  /** Kernel memory for the page tables (PTE, PMD and PUD pages). */
  pageTableBytes: number;
  simulatedNs: number;
  syscalls: Record<string, number>;
  faults: Record<string, number>;
}

export function snapshot(proc: Process, costs: Costs = DEFAULT_COSTS): Snapshot {
  const rss = proc.mm.rss * 4096;
  const huge = thpBytes(proc);
  const syscalls = { ...proc.mm.syscalls };
  const faults = { ...proc.mm.faults };
  return {
    vmaFinal: proc.mm.mapCount,
    mmapLockWrite: proc.mm.lock.total.write,
    mmapLockRead: proc.mm.lock.total.read,
    rssFinalBytes: rss,
    anonHugeBytesFinal: huge,
    thpCoverage: rss ? huge / rss : 0,
    pageTableBytes: proc.mm.pt.bytes(),
    simulatedNs: simulatedNs(syscalls, faults, costs),
    syscalls,
    faults,
  };
}

export function thpBytes(proc: Process): number {
  let n = 0;
  for (const e of proc.mm.pt.pmds.values()) if (e.huge > 0 && !e.hugetlb) n++;
  return n * 2 * 1024 * 1024;
}

/** Which thread runs each event: the trace's `t` lines, or blocks of 64 events dealt round-robin. */
export function threadOf(w: EventList, threads?: number): { threads: number; of: Uint16Array; last: number[] } {
  const of = new Uint16Array(w.length);
  let hasThreads = false;
  for (let i = 0; i < w.length && !hasThreads; i++) if (w.op[i] === OP_THREAD) hasThreads = true;
  let n = 1;
  if (hasThreads && threads === undefined) {
    let t = 0;
    for (let i = 0; i < w.length; i++) {
      if (w.op[i] === OP_THREAD) {
        t = w.x[i];
        n = Math.max(n, t + 1);
      }
      of[i] = t;
    }
  } else {
    n = threads ?? 1;
    for (let i = 0; i < w.length; i++) of[i] = Math.floor(i / 64) % n;
  }
  const last = new Array<number>(n).fill(-1);
  for (let i = 0; i < w.length; i++) if (w.op[i] !== OP_THREAD) last[of[i]] = i;
  return { threads: n, of, last };
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

/** Byte written into newly allocated memory: never zero, so every page really gets data. */
const TOUCH = 0xa5;

export function runOne(workload: EventList, allocatorName: string, opts: RunOptions = {}): RunResult {
  const spec = ALLOCATORS[allocatorName];
  if (!spec) throw new Error(`unknown allocator '${allocatorName}' (known: ${Object.keys(ALLOCATORS).join(', ')})`);
  const t0 = performance.now();
  const profile = opts.profile ?? DEFAULT_PROFILE;
  const costs = profile.costs;
  const proc = new Process({ settings: profile.kernel.settings });
  const a: Allocator = spec.make(proc);
  const ptr = new Float64Array(workload.maxId + 1);
  const size = new Float64Array(workload.maxId + 1);
  const every = Math.max(1, Math.floor(workload.length / (opts.samples ?? 100)));
  const samples: Sample[] = [];
  let vmaPeak = proc.mm.mapCount;
  let livePeak = 0;
  let failures = 0;
  const { op, x, y, z } = workload;
  const owner = threadOf(workload, opts.threads);
  const threads = owner.threads;
  const cpus = opts.cpus ?? threads;
  if (threads < 1 || cpus < 1) throw new Error('threads and cpus must be at least 1');
  if (workload.fromTrace) replayerPreamble(a);
  // the setup the allocator did is charged to thread 0
  const tl = new Timeline(proc.mm, threads, cpus, costs);
  tl.charge(0);
  let current = -1;
  const sample = (i: number) => {
    const s = { event: i, vmas: proc.mm.mapCount, rssBytes: proc.mm.rss * 4096, thpBytes: thpBytes(proc), liveBytes: a.liveBytes };
    if (opts.keepSamples) samples.push(s);
    opts.progress?.(i / workload.length);
  };
  for (let i = 0; i < workload.length; i++) {
    const o = op[i];
    if (o === OP_THREAD) continue;
    const tid = owner.of[i];
    if (tid !== current) {
      a.setThread?.(tid);
      current = tid;
    }
    let touched = 0;
    if (o === OP_FREE) {
      a.free(ptr[x[i]]);
      ptr[x[i]] = 0;
    } else if (o === OP_REALLOC) {
      const old = size[x[i]];
      const n = z[i];
      const p = a.realloc(ptr[x[i]], n);
      if (!p && n) failures++;
      ptr[x[i]] = 0;
      ptr[y[i]] = p;
      size[y[i]] = n;
      if (p && n > old) proc.fill(p + old, (touched = n - old), TOUCH);
    } else {
      const n = o === OP_MALLOC ? y[i] : o === OP_CALLOC ? y[i] * z[i] : z[i];
      const p = o === OP_MALLOC ? a.malloc(n) : o === OP_CALLOC ? a.calloc(y[i], z[i]) : a.alignedAlloc(y[i], n);
      if (!p) failures++;
      ptr[x[i]] = p;
      size[x[i]] = n;
      if (p && n > 0) proc.fill(p, (touched = n), TOUCH);
    }
    // the allocator's own work and the program's memset are user time
    tl.charge(tid, costs.userCallNs + touched * costs.memsetNsPerByte);
    if (i === owner.last[tid]) tl.finished[tid] = true;
    const vmas = proc.mm.mapCount;
    if (vmas > vmaPeak) vmaPeak = vmas;
    if (a.liveBytes > livePeak) livePeak = a.liveBytes;
    if (i % every === 0) sample(i);
  }
  sample(workload.length);
  const end = snapshot(proc, costs);
  const wallMs = Math.round(performance.now() - t0);
  opts.onEnd?.(proc);
  return {
    workload: workload.name,
    allocator: allocatorName,
    profile: profile.name,
    events: workload.events,
    threads,
    cpus,
    lockWaitNs: { mmapLockRead: Math.round(tl.lockWaitNs.mmapLockRead), mmapLockWrite: Math.round(tl.lockWaitNs.mmapLockWrite), vmaLock: Math.round(tl.lockWaitNs.vmaLock) },
    tlbFlushes: proc.mm.tlb.flushes,
    tlbIpis: proc.mm.tlb.ipis,
    shootdownNs: Math.round(tl.shootdownNs),
    lockWaitNsByThread: Array.from(tl.waitByThread, Math.round),
    vmaPeak,
    ...end,
    // with threads, simulated time is when the last one finishes
    simulatedNs: tl.makespan,
    rssPeakBytes: proc.mm.rssPeak * 4096,
    liveBytesPeak: livePeak,
    wallMs,
    failures,
    ...(opts.keepSamples ? { samples } : {}),
  };
}
