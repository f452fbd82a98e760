// Two builds of the simulator replaying one shared trace, each run in a fresh process, the builds
// alternating round after round: the way to see a speed change of a few percent on a machine whose
// speed drifts by 15-40% from one minute to the next (both builds see the same drift).
//
//   node dist/tools/ab-replay.js ALLOCATOR TRACE ROUNDS DIST_A DIST_B [EVENTS]
//   e.g. git worktree add /tmp/base HEAD~3 && (cd /tmp/base && npm ci && npm run build)
//        node dist/tools/ab-replay.js mmap python 6 /tmp/base/dist dist
//
// Each round runs both builds (in turn order, then reversed, against position bias), each in its
// own process: the process decodes the trace (EVENTS keeps only its first events), then replays it
// twice, and reports the first replay (JIT warm-up included, as a CLI run has it) and the second.
// Prints each build's medians, the ratios B/A of the medians, and the ratios round by round. One
// process per run, not both builds in one: two copies of one build loaded side by side in one
// process ran 8% apart, round after round (each copy's code compiled differently), which hid the
// changes being measured.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { EventList } from '../src/workloads/events.js';
import type { WorkloadShape } from '../src/workloads/shape.js';

type RunChunks = (shape: WorkloadShape, chunks: AsyncIterable<EventList>, allocator: string, opts: object) => Promise<unknown>;

const CHILD = '--child';
const traceFile = (trace: string) => resolve(import.meta.dirname, '../../../shared/traces/data', `${trace}.trace.gz`);

/** In the child: decode the trace with build `dist`, replay it twice, print both times (ms) as JSON. */
async function child(dist: string, allocator: string, trace: string, limit: number): Promise<void> {
  const { runChunks } = (await import(`${dist}/src/experiment/run.js`)) as { runChunks: RunChunks };
  const { openTrace } = (await import(`${dist}/src/workloads/trace.js`)) as typeof import('../src/workloads/trace.js');
  const { shape, chunks } = await openTrace(traceFile(trace));
  const lists: EventList[] = [];
  let seen = 0;
  for await (const c of chunks) {
    if (seen >= limit) break;
    seen += c.length;
    lists.push(c);
  }
  const times: number[] = [];
  for (let r = 0; r < 2; r++) {
    async function* replay(): AsyncGenerator<EventList> {
      for (const l of lists) yield l;
    }
    const t0 = performance.now();
    await runChunks(shape, replay(), allocator, {});
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ first: times[0], warm: times[1] }));
}

// (the child's arguments come from the parent; a hand-typed `--child` without them gets the usage)
if (process.argv[2] === CHILD && process.argv.length === 7 && existsSync(`${process.argv[3]}/src/experiment/run.js`)) {
  const [dist, allocator, trace, limit] = process.argv.slice(3);
  await child(dist, allocator, trace, Number(limit));
} else {
  const [allocator, trace, roundsArg, distA, distB, eventsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  if (!allocator || !trace || !Number.isInteger(rounds) || rounds < 2 || !distA || !distB) {
    console.error('usage: ab-replay ALLOCATOR TRACE ROUNDS(>=2) DIST_A DIST_B [EVENTS]');
    process.exit(2);
  }
  const limit = eventsArg === undefined ? Infinity : Number(eventsArg);
  const dists = [resolve(distA), resolve(distB)];
  const { ALLOCATORS } = (await import(`${dists[0]}/src/experiment/allocators.js`)) as typeof import('../src/experiment/allocators.js');
  for (const [bad, why] of [
    [!(allocator in ALLOCATORS), `unknown allocator '${allocator}' (known: ${Object.keys(ALLOCATORS).join(', ')})`],
    [!(limit > 0), `EVENTS must be a positive number, not '${eventsArg}'`],
    [!existsSync(traceFile(trace)), `no trace ${traceFile(trace)}`],
  ] as const) {
    if (bad) {
      console.error(`ab-replay: ${why}`);
      process.exit(2);
    }
  }

  const runs: { first: number; warm: number }[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      // (a child that printed its times but hangs at exit — Node 20's nodejs/node#54918 — is killed
      // after 10 minutes and its times kept)
      // (the children run with this process's node flags)
      const p = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, CHILD, dists[i], allocator, trace, String(limit)], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 600_000, killSignal: 'SIGKILL' });
      if (p.status !== 0 && !p.stdout.startsWith('{')) {
        console.error(`ab-replay: the run of ${dists[i]} failed (${p.signal ?? `exit ${p.status}`}):\n${p.stderr}`);
        process.exit(1);
      }
      runs[i].push(JSON.parse(p.stdout));
    }
  }
  const median = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const fmt = (a: number[]) => a.map((t) => t.toFixed(0)).join(' ');
  const med = runs.map((rs) => ({ first: median(rs.map((x) => x.first)), warm: median(rs.map((x) => x.warm)) }));
  for (let i = 0; i < 2; i++) {
    console.log(`${dists[i]}: first replay median ${med[i].first.toFixed(0)} ms (${fmt(runs[i].map((x) => x.first))}), second ${med[i].warm.toFixed(0)} ms (${fmt(runs[i].map((x) => x.warm))})`);
  }
  console.log(`B/A of the medians: first replay ${(med[1].first / med[0].first).toFixed(3)}, second ${(med[1].warm / med[0].warm).toFixed(3)}`);
  // the two runs of a round are minutes apart at most: their ratio sees less of the drift
  const paired = (k: 'first' | 'warm') => runs[1].map((b, r) => b[k] / runs[0][r][k]);
  const span = (a: number[]) => `median ${median(a).toFixed(3)}, ${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)}`;
  console.log(`B/A round by round: first replay ${span(paired('first'))}; second ${span(paired('warm'))}`);
}
