// `uffd-malloc bench` and `uffd-malloc replay`: workloads × allocators, as a table, JSON or CSV.
import { existsSync } from 'node:fs';
import { ALLOCATORS } from '../experiment/allocators.js';
import { type Job, loadWorkload, runJobs, type WorkloadSpec } from '../experiment/jobs.js';
import { realLibrary, runReal } from '../experiment/real.js';
import { scanTrace } from '../workloads/trace.js';
import type { RunResult } from '../experiment/run.js';
import { WORKLOADS } from '../workloads/synthetic.js';
import type { Profile } from '../experiment/profile.js';
import { join } from 'node:path';
import { checkWritable, exclusive, intOption, LIMITS, type ParsedArgs, parseArgs, profileOption, UsageError } from './args.js';
import { type Shard, shardJobs, shardOption, writeShard } from './shard.js';
import { Progress } from './progress.js';
import { formatCsv, formatDefragTable, formatJson, formatTable } from './table.js';
import type { DefragResult } from '../experiment/defrag-run.js';

/** The built-in workload `npm start` compares the allocators on. */
export const DEFAULT_WORKLOAD = 'churn';

export function allocatorsFrom(names: string[] | undefined): string[] {
  const list = names?.length ? names : Object.keys(ALLOCATORS);
  for (const a of list) if (!ALLOCATORS[a]) throw new UsageError(`unknown allocator '${a}' (known: ${Object.keys(ALLOCATORS).join(', ')})`);
  return list;
}

export function workloadsFrom(names: string[] | undefined, traces: string[] | undefined, seed: number, events: number | undefined): WorkloadSpec[] {
  const specs: WorkloadSpec[] = [];
  for (const n of names ?? (traces?.length ? [] : [DEFAULT_WORKLOAD])) {
    if (!WORKLOADS[n]) throw new UsageError(`unknown workload '${n}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
    specs.push({ kind: 'synthetic', name: n, seed, events });
  }
  for (const t of traces ?? []) {
    if (!existsSync(t)) throw new UsageError(`no such trace file: ${t}`);
    specs.push({ kind: 'trace', path: t });
  }
  return specs;
}

/** --workload/--trace/--seed/--events, checked (a command's default events when it has one). */
export function workloadSpecs(args: ParsedArgs, defaultEvents?: number): WorkloadSpec[] {
  const seed = intOption(args, 'seed', 1, 0, LIMITS.seed);
  const events = args.values.has('events') ? intOption(args, 'events', 0, 1, LIMITS.events) : defaultEvents;
  return workloadsFrom(args.values.get('workload'), args.values.get('trace'), seed, events);
}

export interface SweepOptions {
  keepSamples?: boolean;
  defrag?: boolean;
  threads?: number[];
  cpus?: number;
  profile?: Profile;
  /** Reject trace protocol errors (--strict). */
  strict?: boolean;
  /** Keep the bytes written to memory (--keep-bytes). */
  keepBytes?: boolean;
  uffdHeapBytes?: number;
  /** Run only this shard's share of the sweep. */
  shard?: Shard | null;
  /** Write the results as a shard file in this directory. */
  out?: string;
}

export async function sweep(specs: WorkloadSpec[], allocators: string[], o: SweepOptions = {}): Promise<RunResult[]> {
  const threadCounts = o.threads?.length ? o.threads : [undefined];
  const jobs: Job[] = specs.flatMap((workload) =>
    threadCounts.flatMap((threads) => allocators.map((allocator) => ({ workload, allocator, keepSamples: o.keepSamples, defrag: o.defrag, threads, cpus: o.cpus, profile: o.profile, strict: o.strict, keepBytes: o.keepBytes, uffdHeapBytes: o.uffdHeapBytes }))),
  );
  // runs are numbered in this fixed order; a shard takes every N-th
  const positions = shardJobs(jobs.length, o.shard ?? null);
  const mine = positions.map((i) => jobs[i]);
  const bar = new Progress(`${mine.length} runs`);
  const results = await runJobs(mine, (done, total) => bar.update(done / total));
  bar.done();
  if (o.out) process.stderr.write(`wrote ${writeShard(o.out, o.shard ?? null, positions, jobs.length, results)} (${results.length} of ${jobs.length} runs)\n`);
  // a trace that broke the protocol is said once, with its first bad line
  const told = new Set<string>();
  for (const r of results) {
    if (!r.traceErrors || told.has(r.workload)) continue;
    told.add(r.workload);
    process.stderr.write(`uffd-malloc: warning: ${r.workload}: ${r.traceErrors} trace line(s) broke the protocol and were skipped (first: ${r.firstTraceError}); --strict rejects them\n`);
  }
  return results;
}

export function print(results: RunResult[], json: boolean, csv: boolean, profile: Profile): void {
  const defrag = results.length > 0 && 'before' in results[0];
  if (json || csv) return void process.stdout.write(json ? formatJson(results) : formatCsv(results));
  process.stdout.write(defrag ? formatDefragTable(results as DefragResult[]) : formatTable(results));
  process.stdout.write(costsNote(profile));
  if (results.some((r) => r.allocator.startsWith('real:'))) process.stdout.write('real: rows ran natively on this machine\'s kernel: their sim ms is the measured replay time\n');
}

/** What a printed time means: whose kernel and whose costs. */
export function costsNote(profile: Profile): string {
  return `\nprofile ${profile.name}: sim ms priced with the costs of ${profile.costs.machine}; wall ms is this machine running the simulator\n`;
}

/** --shard, --out, --keep-bytes and --uffd-heap-gb, checked before any work. */
export function runOptions(args: ParsedArgs): { shard: Shard | null; out?: string; keepBytes: boolean; uffdHeapBytes?: number } {
  const shard = shardOption(args);
  const out = args.values.get('out')?.at(-1);
  // the directory may not exist yet: then the one it would go in must be writable
  if (out) checkWritable(existsSync(out) ? join(out, '.shard') : out);
  // the uffd heap's reservation: 64 GiB unless a bigger heap is to be replayed (up to 64 TiB)
  const gb = args.values.has('uffd-heap-gb') ? intOption(args, 'uffd-heap-gb', 64, 1, 65536) : undefined;
  return { shard, out, keepBytes: args.flags.has('keep-bytes'), uffdHeapBytes: gb === undefined ? undefined : gb * 2 ** 30 };
}

/** --real LIB (repeatable): each checked before any work (a known name or a path that exists). */
export function realOption(args: ParsedArgs): string[] {
  const names = args.values.get('real') ?? [];
  for (const n of names) {
    try {
      realLibrary(n);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return names;
}

/**
 * The --real rows: each workload replayed natively with each real allocator, one at a time on
 * this thread (after the simulated sweep, so the measurement has the machine to itself).
 */
export async function realRuns(specs: WorkloadSpec[], names: string[], threads?: number[]): Promise<RunResult[]> {
  if (!names.length) return [];
  const out: RunResult[] = [];
  const bar = new Progress(`${specs.length * names.length} real runs`);
  for (const spec of specs) {
    const w = spec.kind === 'trace' ? spec.path : loadWorkload(spec);
    // a trace of several threads replays on a pthread per trace thread, unless --threads says otherwise
    const threaded = spec.kind === 'trace' && !threads && (await scanTrace(spec.path)).threads > 1;
    for (const n of names) {
      out.push(runReal(w, n, { threads: threaded }));
      bar.update(out.length / (specs.length * names.length));
    }
  }
  bar.done();
  return out;
}

/** --threads N (repeatable, or a comma list: a sweep) and --cpus N, each at least 1. */
export function threadOptions(args: ParsedArgs): { threads?: number[]; cpus?: number } {
  const threads = (args.values.get('threads') ?? []).flatMap((v) => v.split(',')).map((v) => {
    const n = /^[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > LIMITS.threads) throw new UsageError(`--threads takes whole numbers from 1 to ${LIMITS.threads}, not '${v.slice(0, 80)}'`);
    return n;
  });
  const cpus = args.values.has('cpus') ? intOption(args, 'cpus', 1, 1, LIMITS.cpus) : undefined;
  return { threads: threads.length ? threads : undefined, cpus };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'threads', 'cpus', 'profile', 'real', 'shard', 'out', 'uffd-heap-gb'], ['json', 'csv', 'defrag', 'strict', 'keep-bytes']);
  const real = realOption(args);
  exclusive(args, 'json', 'csv');
  const profile = profileOption(args);
  return sweepAndPrint(args, workloadSpecs(args), real, profile, { defrag: args.flags.has('defrag') });
}

export async function replayCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['allocator', 'threads', 'cpus', 'profile', 'real', 'shard', 'out', 'uffd-heap-gb'], ['json', 'csv', 'strict', 'keep-bytes'], 1);
  const real = realOption(args);
  exclusive(args, 'json', 'csv');
  const profile = profileOption(args);
  if (args.positional.length !== 1) throw new UsageError('usage: uffd-malloc replay TRACE [--allocator NAME]... [--threads N] [--cpus N] [--json|--csv]');
  return sweepAndPrint(args, workloadsFrom(undefined, args.positional, 1, undefined), real, profile);
}

/** bench's and replay's common part: the simulated sweep, then the --real rows, printed. */
async function sweepAndPrint(args: ParsedArgs, specs: WorkloadSpec[], real: string[], profile: Profile, extra: SweepOptions = {}): Promise<number> {
  const threads = threadOptions(args);
  const results = await sweep(specs, allocatorsFrom(args.values.get('allocator')), { ...extra, ...threads, profile, strict: args.flags.has('strict'), ...runOptions(args) });
  results.push(...(await realRuns(specs, real, threads.threads)));
  print(results, args.flags.has('json'), args.flags.has('csv'), profile);
  return 0;
}
