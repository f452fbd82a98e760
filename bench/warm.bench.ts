// How much of a replay's wall time is V8 warming up (`node dist/bench/warm.bench.js [ALLOCATOR]
// [RUNS]`): each shared trace replayed RUNS times (default 3) in this one process, the trace
// decoded afresh each time as `replay` does; the first run pays for compiling the hot paths, the
// later ones show the simulator's steady speed. Figures are this machine's.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runChunks } from '../src/experiment/run.js';
import { openTrace } from '../src/workloads/trace.js';

const TRACES = join(import.meta.dirname, '../../../shared/traces/data');
const allocator = process.argv[2] ?? 'uffd';
const runs = Number(process.argv[3] ?? 3);
const traces = existsSync(TRACES) ? readdirSync(TRACES).filter((f) => f.endsWith('.trace.gz')).sort() : [];
if (!traces.length) console.log(`skipped: no shared traces in ${TRACES}`);
for (const t of traces) {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { shape, chunks } = await openTrace(join(TRACES, t));
    ms.push((await runChunks(shape, chunks, allocator)).wallMs);
  }
  console.log(`${t.padEnd(26)} ${allocator}: wallMs ${ms.join(', ')} (first, then warm)`);
}
