// Sweeps across machines on an existing scheduler (Slurm job arrays, Kubernetes Indexed Jobs):
// a sweep's runs are in a fixed order, shard I of N runs every N-th of them (`--shard I/N`, or
// `--shard auto/N` reading SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), `--out DIR` writes the
// shard's results as JSON lines, and `uffd-malloc merge DIR...` puts them back together.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../experiment/run.js';
import { type ParsedArgs, UsageError } from './args.js';

export interface Shard {
  index: number;
  count: number;
}

/** --shard I/N or auto/N; null when not sharded. */
export function shardOption(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Shard | null {
  const v = args.values.get('shard')?.at(-1);
  if (v === undefined) return null;
  const m = /^(auto|\d+)\/(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--shard takes I/N or auto/N (I from 0 to N-1), not '${v.slice(0, 80)}'`);
  const count = Number(m[2]);
  let index: number;
  if (m[1] === 'auto') {
    const from = env.SLURM_ARRAY_TASK_ID ?? env.JOB_COMPLETION_INDEX;
    if (from === undefined || !/^\d+$/.test(from)) throw new UsageError('--shard auto/N needs SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)');
    index = Number(from);
  } else index = Number(m[1]);
  if (count < 1 || count > 100_000 || index >= count) throw new UsageError(`--shard ${v}: the index must be below the shard count (1 to 100,000)`);
  return { index, count };
}

/** The positions of a sweep's runs that a shard runs. */
export function shardJobs(total: number, shard: Shard | null): number[] {
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (!shard || i % shard.count === shard.index) out.push(i);
  return out;
}

/** One line of a shard file: where the run stands in the whole sweep. */
interface ShardLine {
  run: number;
  runs: number;
  result: RunResult;
}

/** A parsed line that is a shard line: run a position in a sweep of `runs`, with a result object. */
function isShardLine(l: unknown): l is ShardLine {
  if (typeof l !== 'object' || l === null) return false;
  const { run, runs, result } = l as Partial<ShardLine>;
  return Number.isInteger(runs) && runs! > 0 && Number.isInteger(run) && run! >= 0 && run! < runs! && typeof result === 'object' && result !== null;
}

/** Write a shard's results as JSON lines, one file per shard. */
export function writeShard(dir: string, shard: Shard | null, positions: number[], total: number, results: RunResult[]): string {
  mkdirSync(dir, { recursive: true });
  const s = shard ?? { index: 0, count: 1 };
  const file = join(dir, `shard-${s.index}-of-${s.count}.jsonl`);
  writeFileSync(file, results.map((result, k) => JSON.stringify({ run: positions[k], runs: total, result } satisfies ShardLine)).join('\n') + (results.length ? '\n' : ''));
  return file;
}

/**
 * Read every .jsonl of the directories and put the runs back in sweep order. Every run must be
 * there exactly once: a missing or repeated one is an error naming it.
 */
export function mergeShards(dirs: string[]): RunResult[] {
  const files: string[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) throw new UsageError(`no such directory: ${d}`);
    if (statSync(d).isFile()) files.push(d);
    else for (const f of readdirSync(d).sort()) if (f.endsWith('.jsonl')) files.push(join(d, f));
  }
  if (!files.length) throw new UsageError(`no shard files (*.jsonl) in ${dirs.join(' ')}`);
  let total = -1;
  const byRun = new Map<number, RunResult>();
  for (const f of files) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let l: ShardLine | null = null;
        try {
          l = JSON.parse(line) as ShardLine;
        } catch {
          /* not JSON: refused below */
        }
        if (!isShardLine(l)) throw new UsageError(`${f}:${i + 1}: not a shard line`);
        if (total >= 0 && l.runs !== total) throw new UsageError(`${f}:${i + 1}: from a sweep of ${l.runs} runs, the others are of ${total}`);
        total = l.runs;
        if (byRun.has(l.run)) throw new UsageError(`${f}:${i + 1}: run ${l.run} appears twice`);
        byRun.set(l.run, l.result);
      });
  }
  const missing = [];
  for (let i = 0; i < total; i++) if (!byRun.has(i)) missing.push(i);
  if (missing.length) throw new UsageError(`${missing.length} of ${total} runs are missing (first: run ${missing[0]}): is a shard still running?`);
  return Array.from({ length: total }, (_, i) => byRun.get(i)!);
}
