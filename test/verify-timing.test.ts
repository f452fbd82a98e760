// The live kernel's time from the recorder's per-operation times: the program's own stores left
// out where they happen, a faulting store counted less a store's own cost, every other operation
// less the recorder's per-operation cost, each stretch at its fastest run.
import { describe, expect, it } from 'vitest';
import { LiveKernelTime } from '../src/experiment/verify-timing.js';

/** A log: the probe page, a probe, one stretch of work, a probe again. */
const lines = [
  'mmap +0x0 0x1000 rw', // 1
  'write +0x0 1', // 2
  'elapsed', // 3: maps the probe page (neither work nor probe)
  'fill +0x0 0x10 165', // 4: probe
  'fill +0x0 0x10 165', // 5: probe
  'elapsed', // 6: probe end
  'mmap +0x10000 0x3000 rw', // 7: kernel op
  'fill +0x10000 0x2000 165', // 8: a store that faulted (two pages)
  'fill +0x10010 0x10 165', // 9: user-only store
  'fill +0x10020 0x10 165', // 10: user-only store
  'fill +0x10030 0x10 165', // 11: user-only store
  'maps', // 12: untimed
  'elapsed', // 13: stretch end
  'fill +0x10040 0x10 165', // 14: probe
  'fill +0x10050 0x10 165', // 15: probe
  'elapsed', // 16: probe end
];
const work = new Set([1, 7]); // line indices (0-based) whose stores did kernel work
const log = { lines, didWork: (k: number) => work.has(k) };

/** A timing run's output: each timed line's own time after @, elapsed lines the sum. */
function output(ns: Record<number, number>): string[] {
  const out: string[] = [];
  let sum = 0;
  lines.forEach((l, k) => {
    if (l === 'elapsed') {
      out.push(`${k + 1} ${l} -> ok ${sum}`);
      sum = 0;
    } else if (l === 'maps') out.push(`${k + 1} ${l} -> ok`, '  +0x0-+0x1000 rw-p anon rss=1');
    else {
      out.push(`${k + 1} ${l} -> ok @${ns[k + 1]}`);
      sum += ns[k + 1];
    }
  });
  return out;
}

const run1 = { 1: 20000, 2: 9000, 4: 300, 5: 320, 7: 5000, 8: 25000, 9: 400, 10: 500, 11: 9000, 14: 310, 15: 330 };

describe('LiveKernelTime', () => {
  it('leaves the fault-free stores out and takes a store\'s own cost from a faulting one', () => {
    const t = new LiveKernelTime(log, new Set([5, 15]), 2, 0.5);
    t.addRun(output(run1));
    // the probes: (300 + 320) / 2 and (310 + 330) / 2 per store; their median
    expect(t.perOpNs).toBe(315);
    // mmap less the recorder's cost, the faulting fill less the median fault-free store (500) and its 8 KiB at 0.5 ns
    expect(t.kernelNs()).toBe(5000 - 315 + (25000 - 500 - 8192 * 0.5));
  });

  it('takes each stretch at its fastest run, and never below no time', () => {
    const t = new LiveKernelTime(log, new Set([5, 15]), 2, 0.5);
    t.addRun(output(run1));
    t.addRun(output({ ...run1, 7: 4000, 10: 400 })); // faster kernel op; the fault-free stores' median is then 400
    t.addRun(output({ ...run1, 7: 9000, 8: 30000 }));
    expect(t.kernelNs()).toBe(4000 - 315 + (25000 - 400 - 4096));
    const none = new LiveKernelTime(log, new Set([5, 15]), 2, 0.5);
    none.addRun(output({ ...run1, 7: 100, 8: 100 }));
    expect(none.kernelNs()).toBe(0);
  });
});
