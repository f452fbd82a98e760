// Real runs beside simulated ones: a workload replayed natively by tools/replay.c with a real
// malloc (glibc, or one loaded with LD_PRELOAD) on the live kernel, reported in the fields of a
// simulated run, measured. A synthetic workload is written out as a malloc-trace v1 file first.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventList } from '../workloads/events.js';
import { formatEvents, traceName } from '../workloads/trace.js';
import { replayerBinary } from './recorder.js';
import type { RunResult, Snapshot } from './run.js';

/** Allocators by name, as Debian ships them (libjemalloc2, libtcmalloc-minimal4, libmimalloc2.0). */
export const REAL_LIBS: Record<string, string | null> = {
  glibc: null,
  jemalloc: 'libjemalloc.so.2',
  tcmalloc: 'libtcmalloc_minimal.so.4',
  mimalloc: 'libmimalloc.so.2',
};

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/usr/lib/aarch64-linux-gnu'];

/** The library to preload for a --real name or path: null for glibc; throws when it is not there. */
export function realLibrary(name: string): string | null {
  if (name.includes('/')) {
    if (!existsSync(name)) throw new Error(`--real ${name}: no such file`);
    return name;
  }
  if (!(name in REAL_LIBS)) throw new Error(`--real takes ${Object.keys(REAL_LIBS).join(', ')} or a path to a malloc library, not '${name}'`);
  const lib = REAL_LIBS[name];
  if (lib === null) return null;
  for (const d of LIB_DIRS) if (existsSync(join(d, lib))) return join(d, lib);
  throw new Error(`--real ${name}: ${lib} is not installed (apt-get install ${name === 'mimalloc' ? 'libmimalloc2.0' : name === 'tcmalloc' ? 'libtcmalloc-minimal4' : 'libjemalloc2'})`);
}

/** A row's name for a --real argument: real:NAME, or real:FILE for a path. */
export function realName(name: string): string {
  return `real:${name.includes('/') ? name.split('/').pop() : name}`;
}

/** Write an in-memory workload as malloc-trace v1 text. */
export function writeTraceFile(ev: EventList, path: string): void {
  writeFileSync(path, formatEvents(ev, ['# malloc-trace v1', `# name: ${ev.name}`]));
}

/** What tools/replay.c prints: the run's JSON fields it can measure, under the same names. */
type NativeResult = Pick<RunResult, 'threads' | 'events' | 'wallMs' | 'vmaPeak' | 'rssPeakBytes'> &
  Pick<Snapshot, 'vmaFinal' | 'rssFinalBytes' | 'anonHugeBytesFinal' | 'thpCoverage' | 'mmapLockWrite' | 'mmapLockRead' | 'faults' | 'syscalls'>;

/** Native replays per `--real` row: the fastest counts (what a noisy machine adds is not the allocator's). */
const REAL_RUNS = 3;

/**
 * Replay a trace file (or an in-memory workload) natively with the real allocator `name`. Its
 * `simulatedNs` is the measured time of the replay phase (the fastest of REAL_RUNS), so it sits
 * in the same column.
 */
export function runReal(workload: string | EventList, name: string, opts: { threads?: boolean } = {}): RunResult {
  const bin = replayerBinary();
  if (!bin) throw new Error('--real needs the native replayer: a C compiler (cc) and zlib headers (apt-get install zlib1g-dev)');
  const lib = realLibrary(name);
  let file = typeof workload === 'string' ? workload : '';
  let dir: string | null = null;
  if (typeof workload !== 'string') {
    dir = mkdtempSync(join(tmpdir(), 'real-'));
    writeTraceFile(workload, (file = join(dir, `${workload.name}.trace`)));
  }
  try {
    const env = { ...process.env, ...(lib ? { LD_PRELOAD: lib } : {}) };
    const args = opts.threads ? ['--threads', file] : [file];
    let out: NativeResult | null = null;
    for (let run = 0; run < REAL_RUNS; run++) {
      const r = JSON.parse(execFileSync(bin, args, { encoding: 'utf8', env, maxBuffer: 1 << 20 })) as NativeResult;
      if (!out || r.wallMs < out.wallMs) out = r;
    }
    out = out!;
    const ns = Math.round(out.wallMs * 1e6);
    return {
      workload: typeof workload === 'string' ? traceName(workload) : workload.name,
      allocator: realName(name),
      profile: `live kernel ${release()}`,
      events: out.events,
      threads: out.threads,
      cpus: 1,
      lockWaitNs: { mmapLockRead: 0, mmapLockWrite: 0, vmaLock: 0 },
      lockWaitNsByThread: [],
      tlbFlushes: 0,
      tlbIpis: 0,
      shootdownNs: 0,
      vmaPeak: out.vmaPeak,
      vmaFinal: out.vmaFinal,
      mmapLockWrite: out.mmapLockWrite,
      mmapLockRead: out.mmapLockRead,
      rssFinalBytes: out.rssFinalBytes,
      rssPeakBytes: out.rssPeakBytes,
      anonHugeBytesFinal: out.anonHugeBytesFinal,
      thpCoverage: out.thpCoverage,
      pageTableBytes: 0,
      simulatedNs: ns,
      cpuNs: ns,
      kernelNs: 0, // not measured apart: the real replay phase is one number
      syscalls: out.syscalls,
      faults: out.faults,
      // not measured by the native replayer
      pagesZapped: 0,
      pteTablesAllocated: 0,
      pteTablesFreed: 0,
      firstTouches: 0,
      ptesMoved: 0,
      liveBytesPeak: 0,
      wallMs: Math.round(out.wallMs),
      failures: 0,
    };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** What the user-space part of a replay costs here with glibc: ns per call and per byte written. */
export function measureUserCosts(): { callNs: number; memsetNsPerByte: number } | null {
  const bin = replayerBinary();
  if (!bin) return null;
  return JSON.parse(execFileSync(bin, ['--user-costs'], { encoding: 'utf8' })) as { callNs: number; memsetNsPerByte: number };
}
