// A sweep of (workload, allocator) runs, spread over worker threads (one per core), with
// progress reported as runs finish.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EventList } from '../workloads/events.js';
import { WORKLOADS } from '../workloads/synthetic.js';
import { openTrace, readTrace, TraceFormatError } from '../workloads/trace.js';
import { runDefrag } from './defrag-run.js';
import type { Profile } from './profile.js';
import { runChunks, type RunOptions, type RunResult, runOne } from './run.js';

/** A workload named so a worker can rebuild it: a synthetic generator or a trace file. */
export type WorkloadSpec = { kind: 'synthetic'; name: string; seed: number; events?: number } | { kind: 'trace'; path: string };

export interface Job {
  workload: WorkloadSpec;
  allocator: string;
  keepSamples?: boolean;
  /** Run the defragment step (mremap_vma_merge, khugepaged) after the workload. */
  defrag?: boolean;
  threads?: number;
  cpus?: number;
  /** The kernel and costs to simulate (plain data, so it crosses to a worker). */
  profile?: Profile;
  /** Reject a trace's protocol errors instead of counting and skipping them. */
  strict?: boolean;
  /** Keep the bytes written to memory (--keep-bytes). */
  keepBytes?: boolean;
  /** The uffd heap's reservation in bytes (--uffd-heap-gb). */
  uffdHeapBytes?: number;
}

export function loadWorkload(spec: WorkloadSpec): EventList {
  if (spec.kind === 'trace') return readTrace(spec.path);
  const w = WORKLOADS[spec.name];
  if (!w) throw new Error(`unknown workload '${spec.name}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  return w.make({ seed: spec.seed, events: spec.events });
}

/**
 * One job. A trace streams (openTrace: a first pass learns its shape and keeps its events when
 * there are at most 4 M, else a second pass decodes them a chunk at a time); a synthetic workload
 * is generated whole.
 */
export async function runJob(job: Job, opts: RunOptions = {}): Promise<RunResult> {
  const o = { ...opts, keepSamples: job.keepSamples, threads: job.threads, cpus: job.cpus, profile: job.profile, keepBytes: job.keepBytes, uffdHeapBytes: job.uffdHeapBytes };
  const spec = job.workload;
  const run =
    spec.kind === 'trace'
      ? async (ro: RunOptions) => {
          const { shape, chunks } = await openTrace(spec.path, { strict: job.strict, threads: ro.threads });
          return runChunks(shape, chunks, job.allocator, ro);
        }
      : async (ro: RunOptions) => runOne(loadWorkload(spec), job.allocator, ro);
  return job.defrag ? runDefrag(run, job.allocator, o) : run(o);
}

/**
 * Run every job, in order of results as given. With more than one job and more than one core,
 * jobs go to worker threads; `onDone` hears of each finished run.
 */
export async function runJobs(jobs: Job[], onDone: (finished: number, total: number) => void = () => {}): Promise<RunResult[]> {
  // worker threads load the compiled worker.js; from TypeScript sources (tests) runs stay inline
  const compiled = import.meta.url.endsWith('.js');
  const workers = compiled ? Math.min(jobs.length, availableParallelism()) : 1;
  const results: RunResult[] = new Array(jobs.length);
  if (workers <= 1) {
    for (let i = 0; i < jobs.length; i++) {
      results[i] = await runJob(jobs[i]);
      onDone(i + 1, jobs.length);
    }
    return results;
  }
  let next = 0;
  let finished = 0;
  const url = new URL('./worker.js', import.meta.url);
  await Promise.all(
    Array.from({ length: workers }, () => {
      const w = new Worker(url);
      return new Promise<void>((resolve, reject) => {
        const feed = () => {
          if (next >= jobs.length) {
            // no more work: the worker ends by itself. terminate() stops it wherever it is, and on
            // Node 20 that can abort the whole process when V8 is still compiling for the worker
            // on a background thread (seen here: NodePlatform::ForIsolate's assertion; the
            // worker-exit race of nodejs/node#51129)
            // (and should it not have ended within a second, it is stopped after all)
            const force = setTimeout(() => void w.terminate(), 1000);
            w.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            w.postMessage(null);
            return;
          }
          const i = next++;
          w.once('message', (m: { result?: RunResult; error?: string; trace?: { file: string; line: number; why: string } }) => {
            if (m.error) {
              void w.terminate();
              reject(m.trace ? new TraceFormatError(m.trace.file, m.trace.line, m.trace.why) : new Error(m.error));
              return;
            }
            results[i] = m.result!;
            onDone(++finished, jobs.length);
            feed();
          });
          w.postMessage(jobs[i]);
        };
        w.once('error', reject);
        feed();
      });
    }),
  );
  return results;
}
