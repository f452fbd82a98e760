// Whole-run verification against the live kernel: skipped, with the reason, where the recorder
// cannot run (no Linux, compiler or root). The log itself is checked everywhere.
import { describe, expect, it } from 'vitest';
import { arenaOffset, logRun, Unverifiable, verify } from '../src/experiment/verify.js';
import { recorderBinary } from '../src/experiment/recorder.js';
import { calibrateQuick } from '../src/experiment/calibrate.js';
import { DEFAULT_PROFILE } from '../src/experiment/profile.js';
import { MMAP_BASE, START_BRK } from '../src/mm/mm.js';
import { checkScenario } from '../src/script/check.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { EventList, OP_MALLOC, OP_REALLOC } from '../src/workloads/events.js';

const churn = WORKLOADS.churn.make({ seed: 2, events: 4000 });

describe('the kernel log', () => {
  it('is a well-formed scenario with checkpoints, in an arena that keeps 2 MiB alignment', () => {
    for (const a of ['glibc', 'uffd', 'guarded']) {
      const { log, checkpoints } = logRun(churn, { allocator: a, every: 1000 });
      expect(checkScenario(log.lines.join('\n')), a).toEqual([]);
      expect(checkpoints).toBeGreaterThanOrEqual(4);
      expect(log.lines.filter((l) => l === 'maps').length).toBe(checkpoints);
    }
    expect(arenaOffset(START_BRK) % (2 << 20)).toBe(START_BRK % (2 << 20));
    expect(arenaOffset(MMAP_BASE - (2 << 20)) % (2 << 20)).toBe((MMAP_BASE - (2 << 20)) % (2 << 20));
  });

  it('logs a realloc\'s copy (Process.copy): the source pages read, the destination stored', () => {
    const w = new EventList('copy', 8);
    w.push(OP_MALLOC, 0, 100);
    w.push(OP_MALLOC, 1, 100);
    w.push(OP_REALLOC, 0, 2, 300_000); // past the top chunk: glibc moves it
    const { log } = logRun(w, { allocator: 'glibc' });
    const at = log.lines.findIndex((l, k) => l.startsWith('read ') && log.lines[k + 1]?.startsWith('fill ') && log.lines[k + 1].split(' ')[2] === '0x64');
    expect(at).toBeGreaterThan(0);
    expect(checkScenario(log.lines.join('\n'))).toEqual([]);
  });

  it('refuses an allocator that needs the proposed huge-zero-page extension', () => {
    expect(() => logRun(churn, { allocator: 'uffd-thp' })).toThrow(Unverifiable);
  });
});

const bin = process.platform === 'linux' && process.getuid?.() === 0 ? recorderBinary() : null;
if (!bin) console.warn('verify.test: the live-kernel comparison needs Linux, cc and root: skipped');

describe.skipIf(!bin)('verify on this kernel', () => {
  // compare under the kernel in front of us
  const profile = { ...DEFAULT_PROFILE, kernel: calibrateQuick({ recorder: bin }).profile.kernel };
  it('probes the kernel it compares against when no profile is given', () => {
    const r = verify(churn, { allocator: 'glibc', every: 1000 });
    expect([r.identical, r.profile]).toEqual([true, expect.stringMatching(/^probed-/)]);
    expect(r.costsMachine).toBe(DEFAULT_PROFILE.costs.machine);
  });

  for (const a of ['uffd', 'glibc', 'mmap', 'guarded', 'uffd-copy']) {
    it(`finds ${a}'s run identical through the end`, () => {
      const r = verify(churn, { allocator: a, every: 1000, profile });
      expect(r.firstDivergence).toBeNull();
      expect(r).toMatchObject({ trace: 'churn', allocator: a, events: 4000, identical: true });
      expect(r.kernelNs).toBeGreaterThan(0);
      expect(r.simulatedKernelNs).toBeGreaterThan(0);
    });
  }
});
