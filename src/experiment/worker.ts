// A worker thread of a sweep: runs the jobs it is sent, one at a time.
import { parentPort } from 'node:worker_threads';
import { type Job, runJob } from './jobs.js';

parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({ result: runJob(job) });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
