// `record`: a program's malloc calls through the preloaded tracer (tools/tracer.c), as a
// malloc-trace v1 file FORMAT.md describes, replayable. Skipped without a C compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { record, traceStats } from '../src/experiment/record.js';
import { tracerLibrary } from '../src/experiment/recorder.js';
import { parseTrace, readTrace } from '../src/workloads/trace.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const lib = process.platform === 'linux' ? tracerLibrary() : null;
if (!lib) console.warn('record.test: no C compiler (cc): the tracer tests are skipped');

describe('trace statistics', () => {
  it('count what FORMAT.md lists', () => {
    const s = traceStats(parseTrace('a 0 24\nc 1 4 256\nm 2 64 1000\nt 1\nr 0 0 4096\nf 1\nt 0\nf 2\n'), 'x');
    expect(s).toMatchObject({ events: 6, a: 1, c: 1, m: 1, r: 1, f: 2, thread_switches: 2, threads: 2, peak_live_bytes: 24 + 1024 + 1000 + 4072, live_end_objects: 1, live_end_bytes: 4096, max_size: 4096 });
  });
});

describe.skipIf(!lib)('record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rec-'));
  const prog = join(dir, 'prog');
  writeFileSync(
    join(dir, 'prog.c'),
    `#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void *run(void *a) { for (int i = 0; i < 500; i++) { char * volatile p = malloc(100 + i); p[0] = 1; free(p); } return a; }
int main(void) {
  char * volatile big = calloc(4, 1 << 20);
  big = realloc(big, 8 << 20);
  void *al; posix_memalign(&al, 4096, 10000);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, run, 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
  if (fork() == 0) { char * volatile q = malloc(5); free(q); _exit(0); }
  free(big);
  return 3;
}
`,
  );
  execFileSync('cc', ['-O1', '-o', prog, join(dir, 'prog.c'), '-lpthread']);

  it("writes a gzipped malloc-trace v1 with FORMAT.md's header lines, threads and the program's status", () => {
    const out = join(dir, 'prog.trace.gz');
    const r = record([prog], out);
    expect(r).toMatchObject({ status: 3, via: 'tracer' });
    const text = gunzipSync(readFileSync(out)).toString();
    const head = text.split('\n').slice(0, 6);
    expect(head[0]).toBe('# malloc-trace v1');
    expect(head[1]).toBe('# name: prog');
    expect(head[2]).toMatch(/^# events: \d+ \(a=\d+ c=\d+ m=1 r=1 f=\d+\) thread_switches: \d+$/);
    expect(head.slice(3).map((l) => l.split(':')[0])).toEqual(['# max_id', '# peak_live_bytes', '# live_at_end']);
    expect(text).toContain(`\nr 0 0 ${8 << 20}\n`);
    expect(text).toContain('\nm ');
    // the two threads' 1,000 pairs are there, the forked child's malloc(5) is not
    expect(r.stats.threads).toBeGreaterThanOrEqual(3);
    expect(r.stats.a).toBeGreaterThanOrEqual(1000);
    expect(text.split('\n').filter((l) => /^a \d+ 5$/.test(l))).toEqual([]);
    const ev = readTrace(out);
    expect((ev as unknown as { traceErrors: number }).traceErrors).toBe(0);
    expect(JSON.parse(readFileSync(r.statsFile, 'utf8')).events).toBe(r.stats.events);
  });

  it.skipIf(!existsSync(cli))('is a CLI command whose trace replays', () => {
    const out = join(dir, 'cli.trace.gz');
    const r = spawnSync(process.execPath, cliArgv(['record', '--out', out, '--', prog]), { encoding: 'utf8' });
    expect(r.stderr).toMatch(/wrote .*cli\.trace\.gz: [\d,]+ calls/);
    expect(r.status).toBe(1); // the program's own status was 3
    const rep = spawnSync(process.execPath, cliArgv(['replay', out, '--allocator', 'uffd', '--json']), { encoding: 'utf8' });
    expect(JSON.parse(rep.stdout)[0]).toMatchObject({ workload: 'cli', allocator: 'uffd', failures: 0 });
    expect(spawnSync(process.execPath, cliArgv(['record', 'x']), { encoding: 'utf8' }).status).toBe(2);
  });
});
