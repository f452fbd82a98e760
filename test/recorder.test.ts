// The project's recorder against this machine's kernel. Kernels differ (build options, boot
// options such as one that maps no zero page on read faults), so the kernel is probed first
// (calibrate --quick) and the simulator runs under the probed profile: the test passes on any
// kernel the model has settings for. Skipped, with a reason, where there is no C compiler or no
// Linux to record on. The recorded suite is replayed under the default profile in
// conformance.test.ts either way.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrateQuick } from '../src/experiment/calibrate.js';
import { recorderBinary, runRecorder } from '../src/experiment/recorder.js';
import { runScenario } from '../src/script/run.js';

const ROOT = join(import.meta.dirname, '..');
const SHARED = join(ROOT, '..', 'shared', 'kernel-oracle', 'scenarios');

const bin = process.platform === 'linux' ? recorderBinary() : null;
if (!bin) console.warn('recorder.test: no C compiler (cc) or not Linux: the real-kernel recorder test is skipped');
const probe = bin ? calibrateQuick({ recorder: bin }) : null;

/** Scenarios whose outputs depend on kernel variants the profile models, and a few plain ones. */
const OWN = ['zero-page-cow', 'munmap-split-merge', 'mremap-shrink-grow', 'thp-split-zero', 'madv-flags-split', 'uffd-move-tables'];
const SHARED_NAMES = ['zero-page-read', 'thp-huge-zero-read', 'dontneed-anon', 'guard-install', 'vma-munmap-hole', 'mremap-dontunmap'];

describe.skipIf(!bin)('tools/recorder.c on this kernel, under the probed profile', () => {
  it('probes settings under which the simulator reproduces every probe', () => {
    expect(probe!.mismatches).toEqual([]);
    expect(Object.keys(probe!.profile.probed!)).toEqual(expect.arrayContaining(['readFaultZeroPage', 'thpEnabled', 'uffdFeatures']));
  });
  const cases = [
    ...OWN.map((n) => join(ROOT, 'test/conformance/scenarios', `${n}.txt`)),
    ...SHARED_NAMES.map((n) => join(SHARED, `${n}.txt`)).filter((f) => existsSync(f)),
  ];
  for (const file of cases) {
    it(`records ${file.split('/').pop()} as the simulator runs it`, () => {
      const text = readFileSync(file, 'utf8');
      const real = runRecorder(text, bin!)!;
      expect(real.split('\n')[0]).toBe('# real kernel');
      const sim = runScenario(text, { settings: probe!.profile.kernel.settings });
      expect(sim.split('\n').slice(1)).toEqual(real.split('\n').slice(1));
    });
  }
});
