// The project's recorder against this machine's kernel: skipped, with a reason, where there is no
// C compiler or no Linux to record on. The recorded suite is replayed in conformance.test.ts either way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/script/run.js';

const ROOT = join(import.meta.dirname, '..');

function buildRecorder(): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const bin = join(mkdtempSync(join(tmpdir(), 'recorder-')), 'recorder');
    execFileSync('cc', ['-O2', '-o', bin, join(ROOT, 'tools/recorder.c'), '-lpthread'], { stdio: 'pipe' });
    return bin;
  } catch {
    return null;
  }
}

const bin = buildRecorder();
if (!bin) console.warn('recorder.test: no C compiler (cc) or not Linux: the real-kernel recorder test is skipped');

describe.skipIf(!bin)('tools/recorder.c on this kernel', () => {
  for (const name of ['zero-page-cow', 'munmap-split-merge', 'mremap-shrink-grow']) {
    it(`records ${name} as the simulator runs it`, () => {
      const text = readFileSync(join(ROOT, 'test/conformance/scenarios', `${name}.txt`), 'utf8');
      const real = execFileSync(bin!, { input: text, encoding: 'utf8' });
      expect(real.split('\n')[0]).toBe('# real kernel');
      expect(runScenario(text).split('\n').slice(1)).toEqual(real.split('\n').slice(1));
    });
  }
});
