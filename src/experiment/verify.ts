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
import { MMAP_BASE, START_BRK } from '../mm/mm.js';
import { Process } from '../mm/process.js';
import { ZERO_PFN } from '../mm/frames.js';
import { PTEF_UNTOUCHED, pteIndex } from '../mm/page-table.js';
import { VM_SHARED, VM_UFFD_WP, VM_WRITE } from '../mm/vma.js';
import { hex, MAP_FIXED, MAP_NORESERVE, MAP_POPULATE, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/uapi.js';
import { UFFD_FEATURES, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP, UFFDIO_ZEROPAGE_MODE_DONTWAKE, UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES } from '../mm/userfaultfd/uapi.js';
import { ScenarioRunner } from '../script/run.js';
import { parseScenarioLine } from '../script/parse.js';
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../workloads/events.js';
import { ALLOCATORS } from './allocators.js';
import { totalFaults } from '../mm/fault-kinds.js';
import { kernelWork, kernelWorkNs } from './cost-model.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import { recorderBinary } from './recorder.js';
import { LiveKernelTime } from './verify-timing.js';
import { calibrateQuick } from './calibrate.js';
import { TOUCH } from './run.js';

const GiB = 2 ** 30;
/** The arena: brk addresses in its first 16 GiB, the mmap area (top-down from MMAP_BASE) above. */
const BRK_SPAN = 16 * GiB;
const MMAP_SPAN = 111 * GiB;
export const VERIFY_ARENA_GB = 128;
const BRK_BASE = Math.floor(START_BRK / GiB) * GiB;
const MMAP_LOW = Math.floor((MMAP_BASE - MMAP_SPAN) / GiB) * GiB;

export class Unverifiable extends Error {}

/** A simulated address as an offset into the verify arena (alignment within 1 GiB kept). */
export function arenaOffset(addr: number): number {
  if (addr >= BRK_BASE && addr < BRK_BASE + BRK_SPAN) return addr - BRK_BASE;
  if (addr >= MMAP_LOW && addr < MMAP_BASE + GiB) return BRK_SPAN + addr - MMAP_LOW;
  throw new Unverifiable(`address 0x${addr.toString(16)} lies outside the verify arena`);
}

const off = (a: number) => hex(arenaOffset(a));
function prot(p: number): string {
  const s = (p & PROT_READ ? 'r' : '') + (p & PROT_WRITE ? 'w' : '') + (p & PROT_EXEC ? 'x' : '');
  return s || 'none';
}

/** The calls whose log lines are stores; the user-mode copies (read, write, copy) are stores too. */
const STORES = new Set(['fill', 'write8', 'read8']);

/** The log: scenario lines, and for each line the event it belongs to. */
class KernelLog {
  readonly lines: string[] = [];
  readonly eventOf: number[] = [];
  event = -1;
  private brkTop = 0;
  /** Where the last OVERHEAD_PROBES stores began, oldest first from storesSeen (a ring). */
  private readonly recentStores = new Float64Array(OVERHEAD_PROBES);
  private storesSeen = 0;

  /** Per line: 1 where a store (fill, write, read) made the simulator do kernel work (a fault, a first touch). */
  private work = new Uint8Array(1 << 16);

  /** Whether line k is a store in which the simulator did kernel work. */
  didWork(k: number): boolean {
    return k < this.work.length && this.work[k] === 1;
  }

  private markWork(from: number, to: number): void {
    if (to > this.work.length) {
      const grown = new Uint8Array(Math.max(to, 2 * this.work.length));
      grown.set(this.work);
      this.work = grown;
    }
    this.work.fill(1, from, to);
  }

  private noteStore(addr: number): void {
    this.recentStores[this.storesSeen++ % OVERHEAD_PROBES] = addr;
  }

  /** The addresses of the last stores, oldest first. */
  lastStores(): number[] {
    const n = Math.min(this.storesSeen, OVERHEAD_PROBES);
    return Array.from({ length: n }, (_, k) => this.recentStores[(this.storesSeen - n + k) % OVERHEAD_PROBES]);
  }

  add(line: string): void {
    this.lines.push(line);
    this.eventOf.push(this.event);
  }

  /** Wrap a process so that what a program does to the kernel through it is logged. */
  wrap(proc: Process): Process {
    const log = this;
    this.brkTop = proc.mm.brk;
    const brkMoved = () => {
      const top = Math.ceil(proc.mm.brk / PAGE_SIZE) * PAGE_SIZE;
      const old = Math.ceil(log.brkTop / PAGE_SIZE) * PAGE_SIZE;
      // brk is replayed as mmap/munmap of the heap's top, in the arena
      if (top > old) log.add(`mmap ${off(old)} ${hex(top - old)} rw`);
      else if (top < old) log.add(`munmap ${off(top)} ${hex(old - top)}`);
      log.brkTop = proc.mm.brk;
    };
    const handlers: Record<string, (f: (...a: never[]) => unknown, args: number[]) => unknown> = {
      mmap: (f, [addr, len, p, flags, fd]) => {
        if (fd !== undefined && fd >= 0) throw new Unverifiable('file mappings are not logged');
        let r: number;
        const words = `${flags & MAP_SHARED ? ' shared' : ''}${flags & MAP_NORESERVE ? ' noreserve' : ''}${flags & MAP_POPULATE ? ' populate' : ''}${flags & MAP_FIXED ? ' fixed' : ''}`;
        try {
          r = f(...([addr, len, p, flags, fd] as never[])) as number;
        } catch (e) {
          log.add(`mmap ${addr ? off(addr) : hex(BRK_SPAN)} ${hex(len)} ${prot(p)}${words}`);
          throw e;
        }
        log.add(`mmap ${off(r)} ${hex(len)} ${prot(p)}${words}`);
        return r;
      },
      munmap: (f, [a, len]) => (log.add(`munmap ${off(a)} ${hex(len)}`), f(...([a, len] as never[]))),
      mprotect: (f, [a, len, p]) => (log.add(`mprotect ${off(a)} ${hex(len)} ${prot(p)}`), f(...([a, len, p] as never[]))),
      madvise: (f, [a, len, adv]) => (log.add(`madvise ${off(a)} ${hex(len)} ${adv}`), f(...([a, len, adv] as never[]))),
      mremap: (f, [a, oldLen, newLen, flags = 0, newAddr = 0]) => {
        let r: number;
        const base = `mremap ${off(a)} ${hex(oldLen)} ${hex(newLen)}${flags & MREMAP_MAYMOVE ? ' maymove' : ''}${flags & MREMAP_DONTUNMAP ? ' dontunmap' : ''}`;
        try {
          r = f(...([a, oldLen, newLen, flags, newAddr] as never[])) as number;
        } catch (e) {
          log.add(base + (flags & MREMAP_FIXED ? ` fixed ${off(newAddr)}` : ''));
          throw e;
        }
        // where the simulator moved it, the live kernel is told to move it too
        log.add(base + (flags & MREMAP_FIXED || r !== a ? ` fixed ${off(r)}` : ''));
        return r;
      },
      brk: (f, args) => {
        const r = f(...(args as never[]));
        brkMoved();
        return r;
      },
      sbrk: (f, args) => {
        try {
          return f(...(args as never[]));
        } finally {
          brkMoved();
        }
      },
      uffdApi: (f, [fd, features = 0, api]) => {
        const names = Object.entries(UFFD_FEATURES).filter(([, bit]) => features & bit).map(([n]) => n);
        log.add(`uffd ${names.join(' ')}`.trim());
        return f(...([fd, features, api] as never[]));
      },
      uffdRegister: (f, [fd, start, len, mode]) => {
        const modes = [mode & UFFDIO_REGISTER_MODE_MISSING && 'missing', mode & UFFDIO_REGISTER_MODE_WP && 'wp', mode & UFFDIO_REGISTER_MODE_MINOR && 'minor'].filter(Boolean).join(' ');
        log.add(`uffd_register ${off(start)} ${hex(len)} ${modes || 0}`);
        return f(...([fd, start, len, mode] as never[]));
      },
      uffdUnregister: (f, [fd, start, len]) => (log.add(`uffd_unregister ${off(start)} ${hex(len)}`), f(...([fd, start, len] as never[]))),
      uffdZeropage: (f, [fd, start, len, mode = 0]) => {
        if (mode & UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT) throw new Unverifiable('the allocator uses the proposed huge-zero-page extension of UFFDIO_ZEROPAGE, which no real kernel has');
        log.add(`uffd_zeropage ${off(start)} ${hex(len)}${mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE ? ' dontwake' : ''}`);
        return f(...([fd, start, len, mode] as never[]));
      },
      uffdCopy: (f, [fd, dst, src, len, mode = 0]) => {
        if (len > 2 << 20) throw new Unverifiable('UFFDIO_COPY of more than the recorder\'s 2 MiB buffer');
        log.add(`uffd_copy ${off(dst)} ${hex(len)} ${proc.read(src, 1)[0]}${mode ? ' wp' : ''}`);
        return f(...([fd, dst, src, len, mode] as never[]));
      },
      uffdMove: (f, [fd, dst, src, len, mode = 0]) => {
        log.add(`uffd_move ${off(dst)} ${off(src)} ${hex(len)}${mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ? ' allow_src_holes' : ''}`);
        return f(...([fd, dst, src, len, mode] as never[]));
      },
      uffdMonitor: () => {
        throw new Unverifiable('a userfaultfd monitor thread is not replayed by the recorder');
      },
      fill: (f, [a, len, byte]) => {
        if (len > 0) log.add(`fill ${off(a)} ${hex(len)} ${byte & 0xff}`);
        if (len > 0) log.noteStore(a);
        return f(...([a, len, byte] as never[]));
      },
      write8: (f, [a, byte]) => (log.add(`write ${off(a)} ${byte & 0xff}`), f(...([a, byte] as never[]))),
      read8: (f, [a]) => (log.add(`read ${off(a)}`), f(...([a] as never[]))),
    };
    // user-mode copies: a read touches each page, a write stores its first byte's value over its range
    const copies: Record<string, (f: (...a: never[]) => unknown, args: unknown[]) => unknown> = {
      read: (f, [a, len]) => {
        const start = a as number;
        for (let p = Math.floor(start / PAGE_SIZE) * PAGE_SIZE; p < start + (len as number); p += PAGE_SIZE) log.add(`read ${off(Math.max(p, start))}`);
        return f(...([a, len] as never[]));
      },
      write: (f, [a, data]) => {
        const d = data as Uint8Array | number[];
        if (d.length) log.add(`fill ${off(a as number)} ${hex(d.length)} ${d[0]}`);
        if (d.length) log.noteStore(a as number);
        return f(...([a, data] as never[]));
      },
      // memcpy: the source's pages read, then the destination stored (with the source's first byte)
      copy: (f, [dst, src, len]) => {
        const [to, from, n] = [dst as number, src as number, len as number];
        if (n <= 0) return f(...([dst, src, len] as never[]));
        const byte = proc.read8(from);
        for (let p = Math.floor(from / PAGE_SIZE) * PAGE_SIZE; p < from + n; p += PAGE_SIZE) log.add(`read ${off(Math.max(p, from))}`);
        log.add(`fill ${off(to)} ${hex(n)} ${byte}`);
        log.noteStore(to);
        return f(...([dst, src, len] as never[]));
      },
    };
    // the stores in which the simulator did kernel work (verify-timing.ts counts the rest as user time)
    const work = () => totalFaults(proc.mm.faults) + proc.mm.firstTouches;
    const stores = (call: () => unknown) => {
      const from = log.lines.length;
      const before = work();
      try {
        return call();
      } finally {
        if (work() !== before) log.markWork(from, log.lines.length);
      }
    };
    return new Proxy(proc, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver);
        if (typeof v !== 'function' || typeof name !== 'string') return v;
        const h = handlers[name];
        const c = copies[name];
        const bound = v.bind(target) as (...a: never[]) => unknown;
        if (h) return STORES.has(name) ? (...args: number[]) => stores(() => h(bound, args)) : (...args: number[]) => h(bound, args);
        if (c) return (...args: unknown[]) => stores(() => c(bound, args));
        return bound;
      },
    });
  }
}

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

const OVERHEAD_PROBES = 2000;

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
      log.add(`fill ${a < 0 ? probeAt : off(a - (a % PAGE_SIZE) + Math.min(a % PAGE_SIZE, PAGE_SIZE - 0x10))} 0x10 ${TOUCH}`);
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

