// The scenario language's input checks: malformed lines are errors naming FILE:LINE before
// anything runs; an operation the simulator cannot carry out keeps the output before it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLine, checkScenario, SYNTAX } from '../src/script/check.js';
import { runScenario, ScenarioError, ScenarioRunner } from '../src/script/run.js';
import { parseScenario } from '../src/script/parse.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');

describe('scenario checks', () => {
  it('accept every recorded scenario', () => {
    for (const dir of ['test/conformance/scenarios', '../shared/kernel-oracle/scenarios']) {
      const d = join(ROOT, dir);
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) expect(checkScenario(readFileSync(join(d, f), 'utf8')), f).toEqual([]);
    }
  });

  it('name the line and what is wrong with it', () => {
    const text = '# header\nread\nwrite 0x0\nmonitor bogus\nfrob 1\n\nmmap 0x0 0x1000 rw memfd\nmmap 0x0 1e3 rw\nuffd_register 0x0 0x1000\nmaps extra\nmadvise 0x0 0x1000 dontneed\n';
    expect(checkScenario(text).map((p) => [p.line, p.message.split(':')[0]])).toEqual([
      [2, 'read'],
      [3, 'write'],
      [4, 'monitor'],
      [5, "unknown operation 'frob' (known"],
      [7, 'mmap'],
      [8, 'mmap'],
      [9, 'uffd_register'],
      [10, 'maps'],
    ]);
    expect(checkLine('write', ['0x0'])).toBe('write: missing argument 2');
    expect(checkLine('mmap', ['0x0', '1e3', 'rw'])).toMatch(/argument 2 must be a number/);
  });

  it('fuzz: any line is accepted or refused with a message, never a crash; accepted ones run', () => {
    const tok = fc.oneof(
      fc.constantFrom(...Object.keys(SYNTAX), 'rw', 'none', 'missing', 'copy', '0x1000', '-0x1000', '1G', 'f', 'fixed', 'memfd', 'dontneed', '0x1000000000000'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(tok, { minLength: 1, maxLength: 6 }).map((t) => t.join(' ')), { maxLength: 12 }), (lines) => {
        const text = 'memfd f 0x10000\nmmap 0x0 0x10000 rw\nuffd sigbus\n' + lines.join('\n') + '\n';
        if (checkScenario(text).length) return;
        try {
          const out = runScenario(text);
          expect(out.split('\n')[0]).toBe('# simulator');
        } catch (e) {
          // the simulator could not carry an operation out: the output before it is kept
          expect(e).toBeInstanceOf(ScenarioError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a failure that is not an errno keeps the lines before it', () => {
    const r = new ScenarioRunner();
    const lines = parseScenario('mmap 0x0 0x1000 rw\ncount\n');
    expect(r.step(lines[0])).toBe('1 mmap 0x0 0x1000 rw -> ok +0x0');
    const broken = new ScenarioRunner();
    (broken as unknown as { step: () => never }).step = () => {
      throw new RangeError('boom');
    };
    try {
      ScenarioRunner.prototype.run.call(broken, 'count\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      expect((e as ScenarioError).output).toBe('# simulator\n');
      expect((e as ScenarioError).message).toBe('operation 1 (count): boom');
    }
  });
});

describe('uffd-malloc script', () => {
  it.skipIf(!existsSync(cli))('refuses a malformed scenario with FILE:LINE and exit 2, running nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'script-'));
    const f = join(dir, 's.txt');
    writeFileSync(f, 'mmap 0x0 0x1000 rw\nread\nbogus 1 2\n');
    const r = spawnSync(process.execPath, cliArgv(['script', f]), { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${f}:2: read: missing argument 1\n${f}:3: unknown operation 'bogus' (known: ${Object.keys(SYNTAX).join(' ')})\n`);
    writeFileSync(f, 'mmap -0x1000 0x1000 rw\nkread 0x0 -1\npwrite q 0x0 0x10 1\n');
    // what tools/recorder printed for these three lines on Linux 6.18
    const ok = spawnSync(process.execPath, cliArgv(['script', f]), { encoding: 'utf8' });
    expect([ok.status, ok.stdout.split('\n').slice(1, 4)]).toEqual([0, ['1 mmap -0x1000 0x1000 rw -> ok +0xfffffffffffff000', '2 kread 0x0 -1 -> err EFAULT', '3 pwrite q 0x0 0x10 1 -> err EBADF']]);
    expect(spawnSync(process.execPath, cliArgv(['script', join(dir, 'none.txt')]), { encoding: 'utf8' }).status).toBe(2);
  });
});
