// `record`: trace a program's malloc-family calls. The program runs with the project's tracer
// preloaded (tools/tracer.c); where no compiler can build it, with glibc's own mtrace
// (libc_malloc_debug.so.0 and MALLOC_TRACE), converted. The result is a gzipped malloc-trace v1
// file with the header lines ../shared/traces/FORMAT.md lists, and NAME.stats.json beside it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type EventList, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, OP_THREAD } from '../workloads/events.js';
import { formatEvents, parseMtrace, parseTrace } from '../workloads/trace.js';
import { tracerLibrary } from './recorder.js';

const MTRACE_LIBS = ['/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0', '/lib/x86_64-linux-gnu/libc_malloc_debug.so.0', '/usr/lib64/libc_malloc_debug.so.0', '/usr/lib/aarch64-linux-gnu/libc_malloc_debug.so.0'];

export interface RecordResult {
  /** The program's exit status (or 128 + signal). */
  status: number;
  /** How the calls were caught: the project's tracer, or glibc's mtrace. */
  via: 'tracer' | 'mtrace';
  file: string;
  statsFile: string;
  stats: TraceStats;
}

export interface TraceStats {
  name: string;
  events: number;
  a: number;
  c: number;
  m: number;
  r: number;
  f: number;
  thread_switches: number;
  threads: number;
  max_id: number;
  peak_live_bytes: number;
  peak_event: number;
  peak_live_objects: number;
  live_end_objects: number;
  live_end_bytes: number;
  total_alloc_bytes: number;
  max_size: number;
  hist: Record<string, number>;
}

const BUCKETS: [string, number][] = [['<=16', 16], ['<=32', 32], ['<=64', 64], ['<=128', 128], ['<=256', 256], ['<=512', 512], ['<=1K', 1 << 10], ['<=4K', 4 << 10], ['<=16K', 16 << 10], ['<=64K', 64 << 10], ['<=128K', 128 << 10], ['<=1M', 1 << 20], ['<=16M', 16 << 20], ['>16M', Infinity]];

/** FORMAT.md's statistics of an event list. */
export function traceStats(ev: EventList, name: string): TraceStats {
  const s: TraceStats = { name, events: 0, a: 0, c: 0, m: 0, r: 0, f: 0, thread_switches: 0, threads: 1, max_id: ev.maxId, peak_live_bytes: 0, peak_event: 0, peak_live_objects: 0, live_end_objects: 0, live_end_bytes: 0, total_alloc_bytes: 0, max_size: 0, hist: Object.fromEntries(BUCKETS.map(([k]) => [k, 0])) };
  const size = new Float64Array(ev.maxId + 1);
  const tids = new Set<number>([0]);
  let live = 0;
  let objects = 0;
  const count = (n: number) => {
    s.total_alloc_bytes += n;
    s.max_size = Math.max(s.max_size, n);
    s.hist[BUCKETS.find(([, b]) => n <= b)![0]]++;
  };
  for (let i = 0; i < ev.length; i++) {
    const [op, x, y, z] = [ev.op[i], ev.x[i], ev.y[i], ev.z[i]];
    if (op === OP_THREAD) {
      s.thread_switches++;
      tids.add(x);
      continue;
    }
    s.events++;
    if (op === OP_FREE) {
      s.f++;
      live -= size[x];
      objects--;
      size[x] = 0;
    } else if (op === OP_REALLOC) {
      s.r++;
      live += z - size[x];
      size[x] = 0;
      size[y] = z;
      count(z);
    } else {
      const n = op === OP_MALLOC ? y : op === OP_CALLOC ? y * z : z;
      if (op === OP_MALLOC) s.a++;
      else if (op === OP_CALLOC) s.c++;
      else if (op === OP_MEMALIGN) s.m++;
      size[x] = n;
      live += n;
      objects++;
      count(n);
    }
    if (live > s.peak_live_bytes) [s.peak_live_bytes, s.peak_event, s.peak_live_objects] = [live, s.events, objects];
  }
  s.threads = tids.size;
  s.live_end_objects = objects;
  s.live_end_bytes = live;
  return s;
}

/** The trace as FORMAT.md writes it: header lines, then one line per event. */
export function formatTrace(ev: EventList, st: TraceStats): string {
  return formatEvents(ev, [
    '# malloc-trace v1',
    `# name: ${st.name}`,
    `# events: ${st.events} (a=${st.a} c=${st.c} m=${st.m} r=${st.r} f=${st.f}) thread_switches: ${st.thread_switches}`,
    `# max_id: ${st.max_id}`,
    `# peak_live_bytes: ${st.peak_live_bytes} at_event: ${st.peak_event} peak_live_objects: ${st.peak_live_objects}`,
    `# live_at_end: ${st.live_end_objects} objects ${st.live_end_bytes} bytes`,
  ]);
}

/** Run argv with its malloc calls traced; write OUT (gzipped) and its .stats.json. */
export function record(argv: string[], out: string, opts: { name?: string; forceMtrace?: boolean } = {}): RecordResult {
  const name = opts.name ?? basename(argv[0]);
  const dir = mkdtempSync(join(tmpdir(), 'record-'));
  const raw = join(dir, 'raw');
  const tracer = opts.forceMtrace ? null : tracerLibrary();
  const mtrace = MTRACE_LIBS.find((l) => existsSync(l));
  if (!tracer && !mtrace) throw new Error('record needs a C compiler (cc) for its tracer, or glibc 2.34+ (libc_malloc_debug.so.0) for mtrace');
  const preload = [tracer ?? mtrace!, process.env.LD_PRELOAD].filter(Boolean).join(':');
  const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: preload, ...(tracer ? { UFFD_TRACE_OUT: raw } : { MALLOC_TRACE: raw }) };
  delete env.UFFD_TRACE_PID;
  try {
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
    if (r.error) throw new Error(`cannot run ${argv[0]}: ${r.error.message}`);
    const status = r.status ?? 128 + (r.signal ? 9 : 0);
    const text = existsSync(raw) ? readFileSync(raw, 'latin1') : '';
    const ev = tracer ? parseTrace(text, name) : parseMtrace(text, name);
    const stats = traceStats(ev, name);
    writeFileSync(out, gzipSync(formatTrace(ev, stats)));
    const statsFile = join(dirname(out), basename(out).replace(/\.trace\.gz$|\.gz$/, '') + '.stats.json');
    writeFileSync(statsFile, JSON.stringify(stats, null, 2) + '\n');
    return { status, via: tracer ? 'tracer' : 'mtrace', file: out, statsFile, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
