// `uffd-malloc threads`: the multi-threaded experiment. For each allocator, the workload on 1 to
// 64 threads (one CPU each): throughput in simulated time, and the time lost to mmap_lock waits
// and to TLB shootdowns.
import type { RunResult } from '../experiment/run.js';
import { parseArgs, profileOption } from './args.js';
import { allocatorsFrom, costsNote, sweep, runOptions, threadOptions, workloadSpecs } from './bench.js';

export const THREAD_STEPS = [1, 2, 4, 8, 16, 32, 64];

export function throughput(r: RunResult): number {
  return r.simulatedNs ? r.events / (r.simulatedNs / 1e9) : 0;
}

export function formatThreads(results: RunResult[]): string {
  const head = ['workload', 'allocator', 'threads', 'events/s (simulated)', 'lock wait ms', 'shootdown ms', 'TLB flushes', 'WL syscalls'];
  const rows = results.map((r) => {
    const wl = ['mmap', 'munmap', 'mremap', 'mprotect', 'brk'].reduce((n, k) => n + (r.syscalls[k] ?? 0), 0);
    const wait = (r.lockWaitNs.mmapLockRead + r.lockWaitNs.mmapLockWrite + r.lockWaitNs.vmaLock) / 1e6;
    return [r.workload, r.allocator, String(r.threads), Math.round(throughput(r)).toLocaleString('en-US'), wait.toFixed(2), (r.shootdownNs / 1e6).toFixed(2), String(r.tlbFlushes), String(wl)];
  });
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}

export async function threadsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'threads', 'profile', 'shard', 'out', 'uffd-heap-gb'], ['json', 'keep-bytes']);
  const profile = profileOption(args);
  const specs = workloadSpecs(args, 100_000);
  const steps = threadOptions(args).threads ?? THREAD_STEPS;
  const results = await sweep(specs, allocatorsFrom(args.values.get('allocator')), { threads: steps, profile, ...runOptions(args) });
  process.stdout.write(args.flags.has('json') ? JSON.stringify(results, null, 2) + '\n' : formatThreads(results) + costsNote(profile));
  return 0;
}
