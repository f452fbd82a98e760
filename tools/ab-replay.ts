// Two builds of the simulator replaying one shared trace in one process, alternately, round after
// round: the way to see a speed change of a few percent on a machine whose speed drifts by 15-40%
// from one minute to the next (both builds see the same drift). The trace is decoded once, by the
// first build; each round runs both builds (in turn order, then reversed, against position bias).
//
//   node dist/tools/ab-replay.js ALLOCATOR TRACE ROUNDS DIST_A DIST_B [EVENTS]
//   e.g. git worktree add /tmp/base HEAD~3 && (cd /tmp/base && npm ci && npm run build)
//        node dist/tools/ab-replay.js mmap python 6 /tmp/base/dist dist
//
// Prints each build's replay times (ms; the first round is warm-up, left out of min and median)
// and the median per-round ratio B/A. TRACE names a file in ../shared/traces/data; EVENTS keeps
// only the trace's first events.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { EventList } from '../src/workloads/events.js';
import type { WorkloadShape } from '../src/workloads/shape.js';

interface Build {
  dist: string;
  runChunks: (shape: WorkloadShape, chunks: AsyncIterable<EventList>, allocator: string, opts: object) => Promise<unknown>;
}

const [allocator, trace, roundsArg, distA, distB, eventsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!allocator || !trace || !Number.isInteger(rounds) || rounds < 2 || !distA || !distB) {
  console.error('usage: ab-replay ALLOCATOR TRACE ROUNDS(>=2) DIST_A DIST_B [EVENTS]');
  process.exit(2);
}
const limit = eventsArg === undefined ? Infinity : Number(eventsArg);
const builds: Build[] = [];
for (const d of [distA, distB]) {
  const dist = resolve(d);
  const run = (await import(`${dist}/src/experiment/run.js`)) as Pick<Build, 'runChunks'>;
  builds.push({ dist, runChunks: run.runChunks });
}
const { openTrace } = (await import(`${builds[0].dist}/src/workloads/trace.js`)) as typeof import('../src/workloads/trace.js');
const { ALLOCATORS } = (await import(`${builds[0].dist}/src/experiment/allocators.js`)) as typeof import('../src/experiment/allocators.js');
const path = resolve(import.meta.dirname, '../../../shared/traces/data', `${trace}.trace.gz`);
for (const [bad, why] of [
  [!(allocator in ALLOCATORS), `unknown allocator '${allocator}' (known: ${Object.keys(ALLOCATORS).join(', ')})`],
  [!(limit > 0), `EVENTS must be a positive number, not '${eventsArg}'`],
  [!existsSync(path), `no trace ${path}`],
] as const) {
  if (bad) {
    console.error(`ab-replay: ${why}`);
    process.exit(2);
  }
}
const { shape, chunks } = await openTrace(path);
const lists: EventList[] = [];
let seen = 0;
for await (const c of chunks) {
  if (seen >= limit) break;
  seen += c.length;
  lists.push(c);
}

const times: number[][] = builds.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [1, 0] : [0, 1];
  for (const i of order) {
    async function* replay(): AsyncGenerator<EventList> {
      for (const l of lists) yield l;
    }
    const t0 = performance.now();
    await builds[i].runChunks(shape, replay(), allocator, {});
    times[i].push(performance.now() - t0);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (let i = 0; i < builds.length; i++) {
  const warm = times[i].slice(1);
  console.log(`${builds[i].dist}: min ${Math.min(...warm).toFixed(0)} ms, median ${median(warm).toFixed(0)} ms (rounds: ${times[i].map((t) => t.toFixed(0)).join(' ')})`);
}
const ratios = times[1].map((t, r) => t / times[0][r]).slice(1);
console.log(`B/A per round: median ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
