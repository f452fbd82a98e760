// Whole-run verification: an allocator replays a trace on the simulator while every kernel
// operation it makes and every write to memory is logged as a line of the scenario language,
// translated into the recorder's arena; the log then runs on the live kernel (tools/recorder.c)
// and on the simulator's scenario runner, and the two outputs are compared line by line, with
// checkpoints (maps, RSS, mmap_lock counts) every N events, at the trace's peak and at the end.
// The first line that differs is the first divergence, named by event and operation.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Allocator } from '../alloc/allocator.js';
import { Process } from '../mm/process.js';
import { ZERO_PFN } from '../mm/frames.js';
import { PTEF_UNTOUCHED, pteIndex } from '../mm/page-table.js';
import { VM_SHARED, VM_UFFD_WP, VM_WRITE } from '../mm/vma.js';
import { hex, PAGE_SIZE } from '../mm/uapi.js';
import { ScenarioRunner } from '../script/run.js';
import { parseScenarioLine } from '../script/parse.js';
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../workloads/events.js';
import { ALLOCATORS } from './allocators.js';
import { kernelWork, kernelWorkNs } from './cost-model.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import { recorderBinary } from './recorder.js';
import { LiveKernelTime } from './verify-timing.js';
import { arenaOffset, BRK_SPAN, GiB, KernelLog, OVERHEAD_PROBES, VERIFY_ARENA_GB } from './kernel-log.js';
import { calibrateQuick } from './calibrate.js';
import { TOUCH } from './run.js';

export { arenaOffset, Unverifiable, VERIFY_ARENA_GB } from './kernel-log.js';

export interface VerifyOptions {
  allocator: string;
  /**
   * The kernel and costs to simulate. @defaultValue this machine's kernel, probed
   * (calibrateQuick), with the default profile's costs: a kernel built or booted differently
   * from mainline is then not reported as a divergence
   */
  profile?: Profile;
  /** A checkpoint every this many events. @defaultValue 100000 */
  every?: number;
  /**
   * Timed runs of the log on the live kernel; each stretch between checkpoints counts at its
   * fastest, since a noisy machine only ever adds time. @defaultValue 3
   */
  timingRuns?: number;
}

export interface Divergence {
  event: number;
  operation: string;
  line: number;
  real: string;
  simulated: string;
}

export interface VerifyResult {
  trace: string;
  allocator: string;
  events: number;
  identical: boolean;
  firstDivergence: Divergence | null;
  checkpoints: number;
  /** The live kernel's time for the logged operations (syscalls and the faulting writes), and the simulator's price of the same. */
  kernelNs: number;
  simulatedKernelNs: number;
  lines: number;
  /** The profile simulated (name) and the machine its costs were measured on. */
  profile: string;
  costsMachine: string;
}


/**
 * Whether a 16-byte store in addr's page changes nothing a verify run compares: the page is
 * present in a private writable anonymous VMA without uffd-wp, PTE-mapped to a frame of its own
 * that already holds data and has been touched since it was installed (no fault, no lock, no
 * first touch; the page stays non-zero).
 */
function inertStore(proc: Process, addr: number): boolean {
  const mm = proc.mm;
  const v = mm.vmas.find(addr);
  if (!v || !(v.flags & VM_WRITE) || v.flags & (VM_SHARED | VM_UFFD_WP) || v.file) return false;
  const e = mm.pt.pmd(addr);
  if (!e || e.huge !== 0 || !e.pte) return false;
  const i = pteIndex(addr);
  const pfn = e.pte[i];
  return pfn > 0 && pfn !== ZERO_PFN && !(e.pteFlags![i] & PTEF_UNTOUCHED) && mm.frames.refs(pfn) === 1 && mm.frames.hasData(pfn);
}

/** Log a workload's kernel operations through one allocator, with checkpoints. */
/** A logged run: the log, its checkpoints, the simulated process, and the lines that end an overhead probe (`elapsed`). */
export interface LoggedRun {
  log: KernelLog;
  checkpoints: number;
  proc: Process;
  probeEnds: number[];
}

export function logRun(w: EventList, opts: VerifyOptions): LoggedRun {
  const spec = ALLOCATORS[opts.allocator];
  if (!spec) throw new Error(`unknown allocator '${opts.allocator}'`);
  const profile = opts.profile ?? DEFAULT_PROFILE;
  const log = new KernelLog();
  const proc = new Process({ settings: profile.kernel.settings });
  const p = log.wrap(proc);
  const a: Allocator = spec.make(p);
  const ptr = new Float64Array(w.maxId + 1);
  const size = new Float64Array(w.maxId + 1);
  const every = opts.every ?? 100_000;
  // the recorder's own cost per operation (the clock, the dispatch), measured on small fills of
  // resident pages at the start and at every checkpoint: verify-timing takes the median out of
  // each kernel operation's time (the stores themselves are measured where they happen)
  const probeAt = hex(BRK_SPAN - 2 * 2 ** 20);
  const probeEnds: number[] = [];
  const probe = () => {
    // the probe repeats the run's own last stores, in their order, where a store changes nothing
    // the run compares (before any store, a page in a corner of the arena no allocator uses)
    const stores = log.lastStores().filter((a) => inertStore(proc, a));
    for (let k = 0; k < OVERHEAD_PROBES; k++) {
      const a = stores.length ? stores[k % stores.length] : -1;
      log.add(`fill ${a < 0 ? probeAt : hex(arenaOffset(a - (a % PAGE_SIZE) + Math.min(a % PAGE_SIZE, PAGE_SIZE - 0x10)))} 0x10 ${TOUCH}`);
    }
    probeEnds.push(log.lines.length);
    log.add('elapsed');
  };
  let checkpoints = 0;
  const checkpoint = () => {
    checkpoints++;
    for (const l of ['maps', 'rss', 'locks', 'faults', 'elapsed']) log.add(l);
    probe();
  };
  // the trace's peak live bytes, found by a first walk over the events
  let live = 0;
  let peak = 0;
  let peakAt = -1;
  for (let i = 0; i < w.length; i++) {
    const o = w.op[i];
    if (o === OP_FREE) live -= size[w.x[i]];
    else if (o === OP_REALLOC) live += w.z[i] - size[w.x[i]];
    else if (o !== OP_THREAD) live += o === OP_CALLOC ? w.y[i] * w.z[i] : o === OP_MALLOC ? w.y[i] : w.z[i];
    if (o === OP_FREE) size[w.x[i]] = 0;
    else if (o === OP_REALLOC) size[w.y[i]] = w.z[i];
    else if (o !== OP_THREAD) size[w.x[i]] = o === OP_CALLOC ? w.y[i] * w.z[i] : o === OP_MALLOC ? w.y[i] : w.z[i];
    if (live > peak) [peak, peakAt] = [live, i];
  }
  size.fill(0);
  log.add(`mmap ${probeAt} 0x1000 rw`);
  log.add(`write ${probeAt} 1`);
  log.add('elapsed');
  probe();
  log.add('locks'); // the counts start here
  log.add('faults');
  let events = 0;
  for (let i = 0; i < w.length; i++) {
    const o = w.op[i];
    if (o === OP_THREAD) continue;
    log.event = ++events;
    const x = w.x[i];
    if (o === OP_FREE) {
      a.free(ptr[x]);
      ptr[x] = 0;
    } else if (o === OP_REALLOC) {
      const old = size[x];
      const n = w.z[i];
      const q = a.realloc(ptr[x], n);
      ptr[x] = 0;
      ptr[w.y[i]] = q;
      size[w.y[i]] = n;
      if (q && n > old) p.fill(q + old, n - old, TOUCH);
    } else {
      const n = o === OP_MALLOC ? w.y[i] : o === OP_CALLOC ? w.y[i] * w.z[i] : w.z[i];
      const q = o === OP_MALLOC ? a.malloc(n) : o === OP_CALLOC ? a.calloc(w.y[i], w.z[i]) : a.alignedAlloc(w.y[i], n);
      ptr[x] = q;
      size[x] = n;
      if (q && n > 0) p.fill(q, n, TOUCH);
    }
    if (events % every === 0 || i === peakAt) checkpoint();
  }
  log.event = events;
  checkpoint();
  return { log, checkpoints, proc, probeEnds };
}

/** The lines of a file, read a MiB at a time (a recorder's output can be far larger than a string may be). */
class LineReader {
  constructor(private readonly file: string) {}

  *[Symbol.iterator](): IterableIterator<string> {
    const fd = openSync(this.file, 'r');
    const buf = Buffer.alloc(1 << 20);
    let rest = '';
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
        const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
        rest = lines.pop()!;
        yield* lines;
      }
      if (rest) yield rest;
    } finally {
      closeSync(fd);
    }
  }
}

/** The default profile's costs with this machine's kernel, probed through the recorder. */
function probedKernel(bin: string): Profile {
  const { name, kernel } = calibrateQuick({ recorder: bin }).profile;
  return { ...DEFAULT_PROFILE, name, kernel };
}

/** Verify a workload: its log on the live kernel and on the simulator, compared. */
export function verify(w: EventList, opts: VerifyOptions): VerifyResult {
  const bin = recorderBinary();
  if (!bin) throw new Error('verify needs the recorder: Linux, a C compiler (cc) and root');
  // probe before comparing: the simulator runs the kernel in front of us unless told otherwise
  const profile = opts.profile ?? probedKernel(bin);
  const { log, checkpoints, proc, probeEnds } = logRun(w, { ...opts, profile });
  // The log and the recorder's output go through files, never whole strings (a long run logs
  // millions of lines), and the recorder writes to a file, not a pipe: a reader woken at every
  // line keeps the other CPU busy, and on some machines (this PVM guest: 12.6 s against 29.4 s
  // for the same mmap-per-object log) a busy sibling CPU makes every page-table update dearer
  // than calibrate measured it.
  const dir = mkdtempSync(join(tmpdir(), 'verify-'));
  const input = join(dir, 'log');
  const inFd = openSync(input, 'w');
  for (let k = 0; k < log.lines.length; k += 65536) writeSync(inFd, log.lines.slice(k, k + 65536).join('\n') + '\n');
  closeSync(inFd);
  const record = (timing: boolean, out: string) => {
    const env = { ...process.env, RECORDER_ARENA_GB: String(VERIFY_ARENA_GB), ...(timing ? { RECORDER_TIMING: '1', RECORDER_LAZY_MONITOR: '1' } : {}) };
    const i = openSync(input, 'r');
    const o = openSync(out, 'w');
    try {
      const r = spawnSync(bin, { env, stdio: [i, o, 'pipe'], encoding: 'utf8' });
      if (r.status !== 0 || r.error) throw new Error(`the recorder failed: ${r.error?.message ?? r.stderr.slice(0, 300)}`);
    } finally {
      closeSync(i);
      closeSync(o);
    }
  };
  // one run compares (with the lock and fault counters on), others time (with them off: their
  // tracepoints would add to every fault); each timed run's operation times go to LiveKernelTime,
  // which keeps each stretch at its fastest
  const realFile = join(dir, 'real');
  const live = new LiveKernelTime(log, new Set(probeEnds), OVERHEAD_PROBES, profile.costs.memsetNsPerByte);
  let realOut: LineReader;
  try {
    record(false, realFile);
    const timedFile = join(dir, 'timed');
    for (let run = 0; run < (opts.timingRuns ?? 3); run++) {
      record(true, timedFile);
      live.addRun(new LineReader(timedFile));
    }
    realOut = new LineReader(realFile);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const runner = new ScenarioRunner({ settings: profile.kernel.settings, arenaSize: VERIFY_ARENA_GB * GiB });
  let first: Divergence | null = null;
  let faultLines = 0;
  // outputs: line 0 is the header, then one line per operation (maps adds indented lines)
  const lines = realOut[Symbol.iterator]();
  lines.next();
  for (let k = 0; k < log.lines.length && !first; k++) {
    const op = parseScenarioLine(log.lines[k], k + 1)!;
    const sim = runner.step(op).split('\n');
    const real = sim.map(() => lines.next().value ?? '');
    if (op.op === 'elapsed') continue;
    // the first count holds the recorder's own first faults (its code paths): not compared
    if (op.op === 'faults' && ++faultLines === 1) continue;
    for (let j = 0; j < sim.length; j++) {
      if (sim[j] !== real[j]) {
        first = { event: log.eventOf[k], operation: op.text, line: k + 1, real: real.slice(j).join(' | '), simulated: sim.slice(j).join(' | ') };
        break;
      }
    }
  }
  lines.return?.();
  rmSync(dir, { recursive: true, force: true });
  const kernelNs = live.kernelNs();
  const s = proc.mm;
  const costs = profile.costs;
  return {
    trace: w.name,
    allocator: opts.allocator,
    events: log.event,
    identical: first === null,
    firstDivergence: first,
    checkpoints,
    kernelNs: Math.round(kernelNs),
    // the cost model's price of the kernel's work (the live side leaves the stores' own time out)
    simulatedKernelNs: Math.round(kernelWorkNs(kernelWork(s), costs)),
    lines: log.lines.length,
    profile: profile.name,
    costsMachine: costs.machine,
  };
}

