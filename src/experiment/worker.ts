// A worker thread of a sweep: runs the jobs it is sent, one at a time.
import { parentPort } from 'node:worker_threads';
import { TraceFormatError } from '../workloads/trace.js';
import { type Job, runJob } from './jobs.js';

parentPort!.on('message', (job: Job | null) => {
  // null: no more work; closing the port lets the thread end by itself
  if (job === null) {
    parentPort!.close();
    return;
  }
  runJob(job).then(
    (result) => parentPort!.postMessage({ result }),
    (e: unknown) =>
      parentPort!.postMessage({
        error: e instanceof Error ? e.message : String(e),
        // bad input crosses back as itself, so the CLI answers it as bad input
        trace: e instanceof TraceFormatError ? { file: e.file, line: e.line, why: e.why } : undefined,
      }),
  );
});
