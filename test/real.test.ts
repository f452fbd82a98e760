// Real runs beside simulated ones: the native replayer (tools/replay.c) with real allocators on
// the live kernel. Skipped, with the reason, without a C compiler and zlib headers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REAL_LIBS, realLibrary, runReal, writeTraceFile } from '../src/experiment/real.js';
import { replayerBinary } from '../src/experiment/recorder.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { parseTrace } from '../src/workloads/trace.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const bin = process.platform === 'linux' ? replayerBinary() : null;
if (!bin) console.warn('real.test: no C compiler or zlib headers (zlib1g-dev): the native replayer tests are skipped');

describe('writeTraceFile', () => {
  it('writes a workload that reads back the same', () => {
    const w = WORKLOADS.churn.make({ seed: 4, events: 3000 });
    const f = join(mkdtempSync(join(tmpdir(), 'wt-')), 'w.trace');
    writeTraceFile(w, f);
    const back = parseTrace(readFileSync(f, 'latin1'));
    expect([back.length, Array.from(back.op.subarray(0, 50)), Array.from(back.y.subarray(0, 50))]).toEqual([w.length, Array.from(w.op.subarray(0, 50)), Array.from(w.y.subarray(0, 50))]);
  });
});

describe.skipIf(!bin)('tools/replay.c with real allocators', () => {
  const w = WORKLOADS.churn.make({ seed: 4, events: 20000 });
  it('replays a workload with glibc and reports the fields of a run, measured', () => {
    const r = runReal(w, 'glibc');
    expect(r).toMatchObject({ workload: 'churn', allocator: 'real:glibc', events: 20000, threads: 1 });
    expect(r.wallMs).toBeGreaterThanOrEqual(0);
    expect(r.simulatedNs).toBeGreaterThan(0);
    expect(r.faults.minor).toBeGreaterThan(100); // the memset touches fresh pages
    expect(r.rssPeakBytes).toBeGreaterThan(r.rssFinalBytes > 0 ? 0 : -1);
    expect(r.syscalls).toHaveProperty('brk');
  });

  it('preloads the allocators Debian ships, where installed', () => {
    for (const name of Object.keys(REAL_LIBS).filter((n) => n !== 'glibc')) {
      let lib: string | null;
      try {
        lib = realLibrary(name);
      } catch {
        continue; // not installed here
      }
      const r = runReal(w, name);
      expect(r.allocator).toBe(`real:${name}`);
      expect(lib).toContain('.so');
      expect(r.events).toBe(20000);
    }
  });

  it.skipIf(!existsSync(cli))('bench --real adds rows; bad --real values are exit 2 before any work', () => {
    const run = (args: string[]) => spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8' });
    const ok = run(['bench', '--allocator', 'glibc', '--events', '3000', '--real', 'glibc', '--json']);
    expect(JSON.parse(ok.stdout).map((r: { allocator: string }) => r.allocator)).toEqual(['glibc', 'real:glibc']);
    const bad = run(['bench', '--real', 'hoard']);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringContaining("--real takes glibc, jemalloc, tcmalloc, mimalloc or a path to a malloc library, not 'hoard'")]);
    expect(run(['bench', '--real', '/no/such/lib.so']).stderr).toContain('--real /no/such/lib.so: no such file');
  });
});
