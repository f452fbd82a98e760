// Kernel profiles: settings the simulator honours, the JSON format with its bad cases, the CLI's
// --profile and UFFD_MALLOC_PROFILE, and calibrate where it cannot probe.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calibrateQuick } from '../src/experiment/calibrate.js';
import { kernelWorkNs } from '../src/experiment/cost-model.js';
import { DEFAULT_PROFILE, loadProfile, parseProfile, PROFILE_FORMAT, ProfileError, resolveProfile } from '../src/experiment/profile.js';
import { runOne } from '../src/experiment/run.js';
import { Process } from '../src/mm/process.js';
import { MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';
import { runScenario } from '../src/script/run.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { CLI as cli, cliArgv } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'profile-'));
const write = (name: string, json: unknown) => {
  const f = join(tmp, name);
  writeFileSync(f, typeof json === 'string' ? json : JSON.stringify(json));
  return f;
};
const noZero = { format: PROFILE_FORMAT, name: 'no-zero-page', kernel: { release: '6.18-pvm', settings: { readFaultZeroPage: false } } };

describe('kernel settings from a profile', () => {
  it('readFaultZeroPage: false makes a read fault allocate a page, and a whole THP in a huge-page range', () => {
    const rss = (readFaultZeroPage: boolean) => {
      const p = new Process({ settings: { readFaultZeroPage } });
      const a = p.mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const aligned = Math.ceil(a / (2 << 20)) * (2 << 20);
      p.madvise(aligned, 2 << 20, MADV_HUGEPAGE);
      p.read8(a === aligned ? a + (2 << 20) : a); // a small page outside the huge range
      const small = p.mm.rss;
      p.read8(aligned);
      return [small, p.mm.rss - small, p.mm.faults.zero + p.mm.faults.hugeZero];
    };
    expect(rss(true)).toEqual([0, 0, 2]);
    expect(rss(false)).toEqual([1, 512, 0]);
  });

  it('a kernel without guard regions, UFFDIO_MOVE, multi-VMA mremap or KSM refuses them as such a kernel does', () => {
    const s = 'mmap 0x0 0x2000 rw\nmadvise 0x0 0x1000 guard_install\nmadvise 0x0 0x1000 mergeable\nmprotect 0x1000 0x1000 r\nmremap 0x0 0x2000 0x2000 maymove fixed 0x100000\nuffd sigbus move\nuffd sigbus\nuffd_register 0x0 0x1000 missing\n';
    const old = runScenario(s, { settings: { guardRegions: false, ksm: false, mremapMultiVma: false, uffdMove: false } }).split('\n');
    expect(old.slice(2, 9)).toEqual([
      '2 madvise 0x0 0x1000 guard_install -> err EINVAL',
      '3 madvise 0x0 0x1000 mergeable -> err EINVAL',
      '4 mprotect 0x1000 0x1000 r -> ok',
      '5 mremap 0x0 0x2000 0x2000 maymove fixed 0x100000 -> err EFAULT',
      '6 uffd sigbus move -> err EINVAL',
      '7 uffd sigbus -> ok',
      '8 uffd_register 0x0 0x1000 missing -> ok ioctls=0x11c', // no _UFFDIO_MOVE bit
    ]);
    expect(runScenario(s).split('\n')[5]).toBe('5 mremap 0x0 0x2000 0x2000 maymove fixed 0x100000 -> ok +0x100000');
  });
});

describe('overcommit', () => {
  it("refuses one accountable request larger than RAM + swap in 'guess' mode, as measured on Linux 6.18", () => {
    // measured with a C probe on this project's machine (24 GiB, no swap, overcommit_memory 0):
    // mmap 32G rw ENOMEM, with MAP_NORESERVE ok, mremap to 32G ENOMEM, mprotect of 32G PROT_NONE
    // to rw ENOMEM (ok with NORESERVE), mmap 20G rw ok, sbrk(32G) fails
    const G = 2 ** 30;
    const RW = PROT_READ | PROT_WRITE;
    const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    const outcome = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    const run = (overcommitMemory: 'guess' | 'always') => {
      const p = new Process({ settings: { overcommitMemory } });
      const small = p.mmap(0, 4096, RW, ANON);
      const none = p.mmap(0, 32 * G, 0, ANON);
      return [
        outcome(() => p.mmap(0, 32 * G, RW, ANON)),
        outcome(() => p.mmap(0, 32 * G, RW, ANON | MAP_NORESERVE)),
        outcome(() => p.mremap(small, 4096, 32 * G, MREMAP_MAYMOVE)),
        outcome(() => p.mprotect(none, 32 * G, RW)),
        outcome(() => p.mmap(0, 20 * G, RW, ANON)),
        outcome(() => p.sbrk(32 * G)),
      ];
    };
    expect(run('guess')).toEqual(['ENOMEM', 'ok', 'ENOMEM', 'ENOMEM', 'ok', 'ENOMEM']);
    expect(run('always')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });
});

describe('profile files', () => {
  it('load with defaults for what they leave out, and name themselves in every result', () => {
    const p = loadProfile(write('nz.json', noZero));
    expect(p.kernel.settings).toEqual({ ...DEFAULT_PROFILE.kernel.settings, readFaultZeroPage: false });
    expect(p.costs).toEqual(DEFAULT_PROFILE.costs);
    const churn = WORKLOADS.churn.make({ seed: 1, events: 3000 });
    expect(runOne(churn, 'uffd', { profile: p }).profile).toBe('no-zero-page');
    expect(runOne(churn, 'uffd').profile).toBe(DEFAULT_PROFILE.name);
  });

  it('price simulated time with their own costs', () => {
    const churn = WORKLOADS.churn.make({ seed: 1, events: 3000 });
    const slow = parseProfile({ ...noZero, costs: { faultNs: { anon: 9600 }, userCallNs: 200 } });
    const a = runOne(churn, 'glibc');
    const b = runOne(churn, 'glibc', { profile: { ...slow, kernel: DEFAULT_PROFILE.kernel } });
    expect(b.simulatedNs - a.simulatedNs).toBe((9600 - 1860) * (a.faults.anon ?? 0) + 180 * 3000);
  });

  it('of format 1 are read with the DONTNEED figure split into call, zap and flush', () => {
    const v1 = { ...noZero, format: 'uffd-malloc-profile/1', costs: { syscallNs: { madvise: 6100, mmap: 2000 }, thread: { madviseEmptyNs: 1100, zapPageNs: 130, lockBounceNs: 300 } } };
    const p = parseProfile(v1);
    expect(p.format).toBe(PROFILE_FORMAT);
    expect([p.costs.syscallNs.madvise, p.costs.syscallNs.mmap, p.costs.work.zapPageNs, p.costs.work.tlbFlushNs, p.costs.thread.lockBounceNs]).toEqual([1100, 2000, 130, 4870, 300]);
    // a populated page's DONTNEED costs what format 1 said it did
    const w = { syscalls: { madvise: 1 }, faults: {}, pagesZapped: 1, tlbFlushes: 1, pteTablesAllocated: 0, pteTablesFreed: 0, firstTouches: 0, ptesMoved: 0 };
    expect(kernelWorkNs(w, p.costs)).toBe(6100);
  });

  it('are rejected with the file and the field named', () => {
    const bad: [unknown, RegExp][] = [
      ['{', /x\.json: not JSON/],
      [[], /a profile is a JSON object/],
      [{ ...noZero, format: 'v0' }, /format must be 'uffd-malloc-profile\/2'/],
      [{ ...noZero, costs: { work: { pteAllocNs: 'x' } } }, /costs\.work\.pteAllocNs must be a number/],
      [{ ...noZero, costs: { work: { pteMoveNs: -1 } } }, /costs\.work\.pteMoveNs must be/],
      [{ ...noZero, costs: { work: { tlbShootNs: 1 } } }, /unknown cost costs\.work\.tlbShootNs/],
      [{ ...noZero, name: '' }, /name must be a non-empty string/],
      [{ ...noZero, kernel: { settings: { readFaultZeroPag: false } } }, /unknown kernel setting 'readFaultZeroPag'/],
      [{ ...noZero, kernel: { settings: { thpEnabled: 'sometimes' } } }, /'thpEnabled' must be always or madvise or never/],
      [{ ...noZero, kernel: { settings: { maxMapCount: -1 } } }, /'maxMapCount' must be a whole number/],
      [{ ...noZero, kernel: { settings: { readFaultZeroPage: 'no' } } }, /'readFaultZeroPage' must be a boolean/],
      [{ ...noZero, costs: { faultNs: { anon: -5 } } }, /costs\.faultNs\.anon must be a number of at least 0/],
      [{ ...noZero, costs: { thread: { warpNs: 1 } } }, /unknown cost costs\.thread\.warpNs/],
    ];
    for (const [json, msg] of bad) expect(() => loadProfile(write('x.json', typeof json === 'string' ? json : JSON.stringify(json)))).toThrow(msg);
    expect(() => loadProfile(join(tmp, 'missing.json'))).toThrow(/cannot read profile .*missing\.json/);
  });

  it('fuzz: any JSON is a profile or a ProfileError naming the file, nothing else', () => {
    const settingKeys = Object.keys(DEFAULT_PROFILE.kernel.settings);
    const value = fc.oneof(fc.boolean(), fc.integer({ min: -5, max: 70000 }), fc.double(), fc.string(), fc.constant(null), fc.constantFrom('madvise', 'never', 'thp'));
    const settings = fc.dictionary(fc.oneof(fc.constantFrom(...settingKeys), fc.string()), value);
    const profile = fc.record(
      {
        format: fc.oneof(fc.constant(PROFILE_FORMAT), fc.constant('uffd-malloc-profile/1'), fc.string()),
        name: fc.oneof(fc.string(), fc.integer()),
        kernel: fc.oneof(fc.record({ release: fc.oneof(fc.string(), fc.integer()), settings }, { requiredKeys: [] }), fc.anything()),
        costs: fc.oneof(
          fc.record(
            {
              faultNs: fc.dictionary(fc.string(), value),
              userCallNs: value,
              work: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('zapPageNs', 'tlbFlushNs', 'pteAllocNs', 'firstTouchNs', 'pteMoveNs'), fc.string()), value), fc.anything()),
              // format 1's thread costs, which format 2 moved
              thread: fc.oneof(fc.dictionary(fc.constantFrom('madviseEmptyNs', 'zapPageNs', 'lockBounceNs', 'warpNs'), value), fc.anything()),
              syscallNs: fc.oneof(fc.dictionary(fc.constantFrom('madvise', 'mmap'), value), fc.anything()),
            },
            { requiredKeys: [] },
          ),
          fc.anything(),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(profile, fc.anything()), (json) => {
        try {
          const p = parseProfile(json, 'f.json');
          expect(typeof p.name).toBe('string');
          for (const k of settingKeys) expect(typeof p.kernel.settings[k as keyof typeof p.kernel.settings]).toBe(typeof DEFAULT_PROFILE.kernel.settings[k as keyof typeof p.kernel.settings]);
        } catch (e) {
          expect(e).toBeInstanceOf(ProfileError);
          expect((e as Error).message).toMatch(/^f\.json: /);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('come from --profile, else UFFD_MALLOC_PROFILE, else the default', () => {
    const f = write('env.json', noZero);
    expect(resolveProfile(undefined, {}).name).toBe(DEFAULT_PROFILE.name);
    expect(resolveProfile(undefined, { UFFD_MALLOC_PROFILE: f }).name).toBe('no-zero-page');
    expect(resolveProfile(write('other.json', { ...noZero, name: 'other' }), { UFFD_MALLOC_PROFILE: f }).name).toBe('other');
  });
});

describe('calibrate --quick where it cannot probe', () => {
  it('reads the knobs it can, keeps defaults for the rest and says what it could not probe', () => {
    const root = mkdtempSync(join(tmpdir(), 'sysfs-'));
    mkdirSync(join(root, 'sys/kernel/mm/transparent_hugepage'), { recursive: true });
    mkdirSync(join(root, 'proc/sys/vm'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/mm/transparent_hugepage/enabled'), '[always] madvise never\n');
    writeFileSync(join(root, 'sys/kernel/mm/transparent_hugepage/use_zero_page'), '0\n');
    writeFileSync(join(root, 'proc/sys/vm/max_map_count'), 'lots\n');
    const { profile, mismatches } = calibrateQuick({ recorder: null, root, name: 'fake' });
    expect(mismatches).toEqual([]);
    expect(profile.kernel.settings).toMatchObject({ thpEnabled: 'always', thpUseZeroPage: false, maxMapCount: 65530, readFaultZeroPage: true });
    expect(profile.probed!.thpEnabled.how).toContain('transparent_hugepage/enabled');
    expect(profile.notProbed!.join('\n')).toMatch(/maxMapCount: .*holds 'lots'/);
    expect(profile.notProbed!.join('\n')).toMatch(/no recorder/);
    expect(parseProfile(JSON.parse(JSON.stringify(profile)), 'round-trip').kernel.settings).toEqual(profile.kernel.settings);
  });
});

describe('CLI --profile', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, cliArgv(args), { encoding: 'utf8', env: { ...process.env, ...env } });
  it.skipIf(!existsSync(cli))('every simulating command takes it; bad profiles are exit 2 before any work', () => {
    const f = write('cli.json', noZero);
    const j = run(['bench', '--allocator', 'uffd', '--events', '2000', '--json', '--profile', f]);
    expect(JSON.parse(j.stdout)[0].profile).toBe('no-zero-page');
    expect(JSON.parse(run(['bench', '--allocator', 'uffd', '--events', '2000', '--json'], { UFFD_MALLOC_PROFILE: f }).stdout)[0].profile).toBe('no-zero-page');
    const table = run(['bench', '--allocator', 'uffd', '--events', '2000']).stdout;
    expect(table).toContain('profile linux-6.18-mainline: sim ms priced with the costs of the kernel-oracle machine');
    const scen = write('zp.txt', 'mmap 0x0 0x1000 rw\nread 0x0\nrss\n');
    expect(run(['script', scen, '--profile', f]).stdout).toContain('3 rss -> ok 4');
    expect(run(['script', scen]).stdout).toContain('3 rss -> ok 0');
    const cal = run(['calibrate', '--quick', '--out', join(tmp, 'no/such/dir/p.json')]);
    expect([cal.status, cal.stderr]).toEqual([2, expect.stringContaining('cannot write')]);
    expect(run(['calibrate', 'now']).status).toBe(2);
    expect(run(['calibrate', '--fast']).stderr).toContain('unknown option --fast');
    for (const cmd of ['bench', 'replay', 'maps', 'report', 'threads', 'contention', 'script', 'demo']) {
      const r = run([cmd, ...(cmd === 'replay' || cmd === 'script' ? [scen] : []), '--profile', join(tmp, 'nope.json')]);
      expect(r.status, cmd).toBe(2);
      expect(r.stderr, cmd).toContain('cannot read profile');
    }
  });
});
