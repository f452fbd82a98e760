// The experiment bench: the JSON contract, what each allocator does to the mm, the glibc-like
// baseline against real glibc on a recorded trace, the CLI's errors, and the report page.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOne } from '../src/experiment/run.js';
import { renderReport } from '../src/report/html.js';
import { formatJson } from '../src/cli/table.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { readTrace } from '../src/workloads/trace.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const FIELDS = ['workload', 'allocator', 'events', 'vmaPeak', 'vmaFinal', 'mmapLockWrite', 'mmapLockRead', 'syscalls', 'faults', 'rssPeakBytes', 'rssFinalBytes', 'anonHugeBytesFinal', 'liveBytesPeak', 'thpCoverage', 'simulatedNs', 'cpuNs', 'profile', 'wallMs'];
const churn = WORKLOADS.churn.make({ seed: 3, events: 20000 });

describe('runs', () => {
  it('report every field of the JSON contract', () => {
    const r = JSON.parse(formatJson([runOne(churn, 'glibc')]))[0];
    for (const f of FIELDS) expect(r, f).toHaveProperty(f);
    expect(r.events).toBe(20000);
    expect(r.thpCoverage).toBeGreaterThanOrEqual(0);
    expect(r.thpCoverage).toBeLessThanOrEqual(1);
  });

  it('uffd-malloc keeps one VMA and three write locks (its setup) through a whole workload', () => {
    for (const a of ['uffd', 'uffd-thp']) {
      const r = runOne(churn, a);
      expect([r.vmaPeak, r.vmaFinal, r.mmapLockWrite]).toEqual([1, 1, 3]);
      expect(r.failures).toBe(0);
    }
    expect(runOne(churn, 'uffd-thp').thpCoverage).toBeGreaterThan(0.8);
  });

  it('a uffd heap reserved at 64 TiB runs a workload exactly as a 64 GiB one does', () => {
    const strip = (r: ReturnType<typeof runOne>) => ({ ...r, wallMs: 0 });
    const small = runOne(churn, 'uffd', { uffdHeapBytes: 2 ** 36 });
    const huge = runOne(churn, 'uffd', { uffdHeapBytes: 2 ** 46 });
    expect(strip(huge)).toEqual(strip(small));
  });

  it('the baselines live on write-locked syscalls', () => {
    const guarded = runOne(churn, 'guarded');
    expect(guarded.vmaPeak).toBeGreaterThan(100); // alternating rw/--- spans
    expect(guarded.syscalls.mprotect).toBeGreaterThan(50);
    const mmap = runOne(churn, 'mmap');
    expect(mmap.syscalls.mmap).toBeGreaterThanOrEqual(mmap.events / 2);
  });
});

const GCC = join(import.meta.dirname, '../../shared/traces/data/gcc-lvm.trace.gz');

describe.skipIf(!existsSync(GCC))('glibc-like baseline against real glibc (../shared/traces/anchors.md)', () => {
  it('replays gcc-lvm with write-locked syscalls and VMAs close to glibc 2.36', () => {
    const r = runOne(readTrace(GCC), 'glibc');
    const wl = (r.syscalls.brk ?? 0) + (r.syscalls.mmap ?? 0) + (r.syscalls.munmap ?? 0) + (r.syscalls.mremap ?? 0) + (r.syscalls.mprotect ?? 0);
    // real glibc: WL 214 (brk 210, mmap 2, munmap 2); its anonymous VMAs grow by 1 ([heap]) plus mmaps
    expect(wl / 214).toBeGreaterThan(0.7);
    expect(wl / 214).toBeLessThan(1.5);
    expect(r.vmaPeak).toBeLessThanOrEqual(4);
  });
});

describe('CLI', () => {
  const built = existsSync(cli);
  it.skipIf(!built)('fails with a clear message and a non-zero exit on bad input', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8' });
    const a = run('bench', '--allocator', 'nope');
    expect(a.status).toBe(2);
    expect(a.stderr).toContain("unknown allocator 'nope'");
    expect(run('bench', '--events', '0').status).toBe(2);
    expect(run('frobnicate').status).toBe(2);
    expect(run('replay', '/no/such/trace').stderr).toContain('no such trace file');
    const j = execFileSync(process.execPath, cliArgv(['bench', '--allocator', 'uffd', '--events', '2000', '--json']), { encoding: 'utf8' });
    expect(JSON.parse(j)[0]).toMatchObject({ workload: 'churn', allocator: 'uffd', vmaFinal: 1 });
  });
});

describe('report', () => {
  it('holds six charts over the run (two runs each) and the final table with the runs numbers', () => {
    const runs = ['glibc', 'uffd'].map((a) => runOne(churn, a, { keepSamples: true, samples: 20 }));
    const html = renderReport(runs);
    expect(html.match(/<svg/g)!.length).toBe(6);
    expect(html.match(/class="series"/g)!.length).toBe(12);
    expect(html).toContain(`<td>${runs[0].vmaPeak}</td>`);
    const embedded = JSON.parse(/<script type="application\/json" id="results">(.*)<\/script>/.exec(html)![1]);
    expect(embedded[1].mmapLockWrite).toBe(runs[1].mmapLockWrite);
  });
});
