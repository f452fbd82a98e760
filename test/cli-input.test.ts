// The CLI validates before it works: bounds that say what they are, no stray words, exclusive
// output formats, output paths tried first, -h per command, and a closed pipe ends it quietly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const run = (args: string[]) => spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8', timeout: 60_000 });

describe.skipIf(!existsSync(cli))('CLI input', () => {
  it('refuses bad options with exit 2 and a message saying what is allowed, before any work', () => {
    const cases: [string[], string][] = [
      [['bench', '--events', '1e12'], '--events takes a whole number from 1 to 20,000,000'],
      [['bench', '--events', '0'], '--events takes a whole number from 1'],
      [['bench', '--cpus', '1000000000'], '--cpus takes a whole number from 1 to 1,024'],
      [['threads', '--threads', 'abc'], "--threads takes whole numbers from 1 to 1024, not 'abc'"],
      [['bench', '--json', '--csv'], '--json and --csv cannot go together'],
      [['bench', 'stray'], "unexpected word 'stray'"],
      [['bench', '-x'], 'unknown option -x'],
      [['bench', '--seed', '4294967296'], '--seed takes a whole number from 0 to 4,294,967,295'],
      [['report', '--out', '/nonexistent/dir/x.html'], 'cannot write /nonexistent/dir/x.html'],
      [['replay', 'a', 'b'], "unexpected word 'b'"],
      [['maps', '--workload', 'nope'], "unknown workload 'nope'"],
      [['bench', '--uffd-heap-gb', '0'], '--uffd-heap-gb takes a whole number from 1 to 65,536'],
      [['bench', '--shard', '3/2'], '--shard 3/2: the index must be below the shard count'],
      [['bench', '--shard', 'x'], "--shard takes I/N or auto/N (I from 0 to N-1), not 'x'"],
      [['bench', '--profile', '/nonexistent.json'], 'cannot read profile /nonexistent.json'],
      [['bench', '--out', '/nonexistent/d/x.json', '--shard', '1/2'], 'cannot write /nonexistent/d/x.json'],
      [['merge', '/nonexistent'], 'no such directory: /nonexistent'],
      [['replay', '/nonexistent.trace'], 'no such trace file: /nonexistent.trace'],
      [['verify', 'x.trace', '--timing-runs', '0'], '--timing-runs takes a whole number from 1 to 20'],
      [['verify', 'x.trace', '--timing-runs', 'abc'], '--timing-runs takes a whole number from 1 to 20'],
    ];
    for (const [args, msg] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(msg);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it("prints a command's usage for -h and exits 0", () => {
    const r = run(['bench', '-h']);
    expect([r.status, r.stdout]).toEqual([0, expect.stringMatching(/^usage: uffd-malloc bench .*--events N/)]);
  });

  it('ends quietly when the reader goes away', () => {
    const r = spawnSync('bash', ['-c', `node --no-concurrent-recompilation ${cli} maps --smaps --events 2000 | head -1`], { encoding: 'utf8' });
    expect(r.stdout.split('\n').length).toBe(2);
    expect(r.stderr).toBe('');
  });

  it('fuzz: random argument vectors end in a result or a clear error with exit 2', () => {
    const word = fc.constantFrom('bench', 'maps', 'threads', 'replay', '--events', '--seed', '--cpus', '--threads', '--json', '--csv', '--allocator', 'uffd', '-1', '0', '1e3', '99999999999', 'abc', '--bogus', '-h', '--uffd-heap-gb', '--shard', '3/2', '--profile', '--keep-bytes', '--strict', '--real', 'glibc', 'merge', 'verify', '--timing-runs', '/nonexistent');
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), (argv) => {
        const r = run([...argv, '--events', '500']);
        if (r.status === 0) return;
        expect(r.status, argv.join(' ')).toBe(2);
        expect(r.stderr, argv.join(' ')).toMatch(/^(uffd-malloc: |usage: )/);
        expect(r.stderr, argv.join(' ')).not.toMatch(/\n\s+at /); // no stack trace
      }),
      { numRuns: 25 },
    );
  });
});

const AB = join(import.meta.dirname, '../dist/tools/ab-replay.js');
const DIST = join(import.meta.dirname, '../dist');

describe.skipIf(!existsSync(AB))('tools/ab-replay input', () => {
  it('refuses a bad allocator, trace, round count or EVENTS with exit 2 and a message, before decoding anything', () => {
    const cases: [string[], string][] = [
      [['sqlite', 'sqlite', '3', DIST, DIST], "unknown allocator 'sqlite'"],
      [['mmap', 'nosuch', '3', DIST, DIST], 'no trace'],
      [['mmap', 'sqlite', '3', DIST, DIST, 'x'], "EVENTS must be a positive number, not 'x'"],
      [['mmap', 'sqlite', '1', DIST, DIST], 'usage: ab-replay'],
      [['mmap', 'sqlite', '3', DIST], 'usage: ab-replay'],
      [['--child', '/nonexistent', 'mmap', 'sqlite', '10'], 'usage: ab-replay'],
    ];
    for (const [args, msg] of cases) {
      const r = spawnSync(process.execPath, ['--no-concurrent-recompilation', AB, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect([r.status, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toContain(msg);
    }
  });

  it.skipIf(!existsSync(join(import.meta.dirname, '../../shared/traces/data/sqlite.trace.gz')))('times each build in its own processes and prints both medians and their ratios', () => {
    // (the flag, which the children inherit, keeps Node 20 from deadlocking at exit: nodejs/node#54918)
    const r = spawnSync(process.execPath, ['--no-concurrent-recompilation', AB, 'mmap', 'sqlite', '2', DIST, DIST, '20000'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    // two runs of each build, a first replay and a second for each
    for (const l of lines.slice(0, 2)) expect(l).toMatch(/: first replay median \d+ ms \(\d+ \d+\), second \d+ ms \(\d+ \d+\)$/);
    expect(lines[2]).toMatch(/^B\/A of the medians: first replay \d+\.\d{3}, second \d+\.\d{3}$/);
    expect(lines[3]).toMatch(/^B\/A round by round: first replay median \d+\.\d{3}, [\d.]+-[\d.]+; second median \d+\.\d{3}, [\d.]+-[\d.]+$/);
  });
});
