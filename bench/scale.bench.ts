// Issue 14's scale targets (`npm run bench:scale [-- EVENTS]`), each run as a user runs it: the
// built CLI in a child process, timed by its wall clock, its peak RSS from /usr/bin/time (getrusage).
//   1. a generated trace of EVENTS malloc-family events (default 100,000,000; 0 skips this part),
//      gzipped, streamed through `replay --allocator uffd`: bounded memory whatever its length;
//   2. every shared trace replayed with every allocator, one run at a time (no worker threads
//      sharing the cores), the fastest of SCALE_RUNS (default 3): wall time as a multiple of uffd's;
//   3. uffd against the native replay of the same trace with real glibc (`--real glibc`).
// Figures are this machine's: say which machine when quoting them.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { replayerBinary } from '../src/experiment/recorder.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/index.js');
const TRACES = join(ROOT, '../shared/traces/data');
const EVENTS = Number(process.argv[2] ?? 100_000_000);
const ALLOCATORS = ['uffd', 'glibc', 'guarded', 'mmap', 'uffd-batch', 'uffd-copy'];

interface Measured {
  seconds: number;
  maxRssMb: number;
  stdout: string;
}

/**
 * Run the CLI under /usr/bin/time: wall seconds and peak RSS. A run that has not exited after
 * timeoutS is killed and run again (twice at most): Node 20 can deadlock at exit, a background
 * compile job waiting for a garbage collection the exiting main thread never runs
 * (nodejs/node#54918; seen once here in a few hundred replays, its output already printed).
 */
function cli(args: string[], timeoutS = 600): Measured {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'timeout', '-s', 'KILL', String(timeoutS), process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status === 137 && attempt < 3) {
      console.log(`   (uffd-malloc ${args.join(' ')} had not exited after ${timeoutS} s: killed, run again)`);
      continue;
    }
    if (r.status !== 0) throw new Error(`uffd-malloc ${args.join(' ')} failed: ${r.stderr.slice(-500)}`);
    const [seconds, kb] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { seconds, maxRssMb: kb / 1024, stdout: r.stdout };
  }
}

/** A malloc-trace v1 file of n events: allocations of 16 B-64 KiB over a live set of 4,096 slots. */
async function generate(path: string, n: number): Promise<void> {
  const gz = createGzip({ level: 1 });
  const out = gz.pipe(createWriteStream(path));
  const live = new Uint8Array(4096);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  let buf = '# malloc-trace v1\n';
  for (let i = 0; i < n; i++) {
    const id = rand() % live.length;
    buf += live[id] ? `f ${id}\n` : `a ${id} ${16 << rand() % 13}\n`;
    live[id] ^= 1;
    if (buf.length > 1 << 20) {
      if (!gz.write(buf)) await new Promise<void>((r) => gz.once('drain', () => r()));
      buf = '';
    }
  }
  gz.end(buf);
  await new Promise<void>((r) => out.on('finish', () => r()));
}

if (!existsSync(CLI)) throw new Error('build first: npm run build');
if (EVENTS > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'scale-'));
  const big = join(dir, `stream-${EVENTS}.trace.gz`);
  const g0 = performance.now();
  await generate(big, EVENTS);
  console.log(`generated ${EVENTS.toLocaleString('en-US')} events in ${((performance.now() - g0) / 1000).toFixed(0)} s`);
  const s = cli(['replay', big, '--allocator', 'uffd', '--json'], 3600);
  console.log(`1. stream: ${EVENTS.toLocaleString('en-US')} events through replay --allocator uffd: ${s.seconds.toFixed(1)} s, peak RSS ${s.maxRssMb.toFixed(0)} MB`);
  rmSync(dir, { recursive: true });
}

/** Simulated replays timed per cell, the fastest kept (the same replay varies by up to 1.5x here). */
const RUNS = Number(process.env.SCALE_RUNS ?? 3);

/**
 * One replay's wall time in ms (the run's own wallMs, not the process's start-up): the fastest of
 * `runs` simulated replays (RUNS unless told); a native one (`--real`) is already the fastest of three.
 */
function replayMs(trace: string, allocator: string, real?: string, runs = real ? 1 : RUNS): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const rs = JSON.parse(cli(['replay', trace, '--allocator', allocator, ...(real ? ['--real', real] : []), '--json']).stdout) as { allocator: string; wallMs: number }[];
    best = Math.min(best, rs.find((r) => r.allocator === (real ? `real:${real}` : allocator))!.wallMs);
  }
  return best;
}

console.log('2. wall time per shared trace, as a multiple of uffd\'s (target: every allocator within 5x)');
const traces = existsSync(TRACES) ? readdirSync(TRACES).filter((f) => f.endsWith('.trace.gz')).sort() : [];
if (!traces.length) console.log(`   skipped: no shared traces in ${TRACES}`);
const uffdMs = new Map<string, number>();
for (const t of traces) {
  // round-robin over the allocators, RUNS rounds: this machine's slow spells last tens of seconds,
  // and one allocator's runs all in a row could all fall in one
  const ms: Record<string, number> = Object.fromEntries(ALLOCATORS.map((a) => [a, Infinity]));
  for (let r = 0; r < RUNS; r++) for (const a of ALLOCATORS) ms[a] = Math.min(ms[a], replayMs(join(TRACES, t), a, undefined, 1));
  uffdMs.set(t, ms.uffd);
  console.log(`   ${t.padEnd(26)} ${ALLOCATORS.map((a) => `${a} ${(ms[a] / ms.uffd).toFixed(1)}x (${ms[a]} ms)`).join('  ')}`);
}

console.log('3. uffd against native glibc on the same trace (target: within 2x)');
const native = replayerBinary() !== null;
if (!native) console.log('   skipped: no native replayer (needs cc and zlib headers)');
for (const t of native ? traces : []) {
  const uffd = uffdMs.get(t)!;
  const real = replayMs(join(TRACES, t), 'uffd', 'glibc');
  console.log(`   ${t.padEnd(26)} uffd ${uffd} ms, native glibc ${real} ms: ${(uffd / real).toFixed(1)}x`);
}
