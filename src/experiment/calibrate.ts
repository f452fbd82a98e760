// `calibrate --quick`: a profile for the kernel in front of us. It reads the sysfs/sysctl knobs
// the model has settings for, asks UFFDIO_API which features the kernel offers, and runs small
// scenarios through the recorder (tools/recorder.c) for behaviour that differs between kernels,
// builds and boot options. Each probe then runs on the simulator under the new profile: a probe
// whose two outputs differ is reported, never silently kept.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { DEFAULT_SETTINGS, type KernelSettings } from '../mm/kernel.js';
import { UFFD_FEATURES } from '../mm/userfaultfd/uapi.js';
import { runScenario } from '../script/run.js';
import { DEFAULT_PROFILE, type ProbeNote, type Profile } from './profile.js';
import { measureUserCosts } from './real.js';
import { recorderBinary, runRecorder } from './recorder.js';

/** A behaviour probe: a scenario, and what its real-kernel output says about one setting. */
interface BehaviourProbe {
  setting: keyof KernelSettings;
  what: string;
  scenario: string;
  /** The setting's value from the output's result lines (line 1, `# real kernel`, dropped). */
  read: (results: string[]) => boolean;
}

/** `N OP -> RESULT`: the RESULT of each operation line. */
function results(out: string): string[] {
  return out
    .split('\n')
    .slice(1)
    .filter((l) => /^\d+ /.test(l))
    .map((l) => l.slice(l.indexOf('->') + 3));
}

export const BEHAVIOUR_PROBES: BehaviourProbe[] = [
  {
    setting: 'readFaultZeroPage',
    what: 'a read fault on untouched anonymous memory maps the zero page (no RSS)',
    scenario: 'mmap 0x0 0x1000 rw\nread 0x0\nrss\n',
    read: (r) => r[2] === 'ok 0',
  },
  {
    setting: 'guardRegions',
    what: 'MADV_GUARD_INSTALL exists (Linux 6.13+)',
    scenario: 'mmap 0x0 0x2000 rw\nmadvise 0x0 0x1000 guard_install\n',
    read: (r) => r[1] === 'ok',
  },
  {
    setting: 'uffdMove',
    what: 'UFFD_FEATURE_MOVE and UFFDIO_MOVE exist (Linux 6.8+)',
    scenario: 'uffd sigbus move\n',
    read: (r) => r[0] === 'ok',
  },
  {
    setting: 'mremapMultiVma',
    what: 'mremap moves a range of several VMAs (Linux 6.17+)',
    scenario: 'mmap 0x0 0x2000 rw\nmprotect 0x1000 0x1000 r\nmremap 0x0 0x2000 0x2000 maymove fixed 0x100000\n',
    read: (r) => r[2].startsWith('ok'),
  },
  {
    setting: 'ksm',
    what: 'MADV_MERGEABLE exists (CONFIG_KSM)',
    scenario: 'mmap 0x0 0x2000 rw\nmadvise 0x0 0x1000 mergeable\n',
    read: (r) => r[1] === 'ok',
  },
];

/**
 * Checked after the settings are chosen: in a huge-page range a read fault maps the huge zero
 * page, or a whole THP where the kernel maps no zero page or use_zero_page is off.
 */
const HUGE_ZERO_CHECK = 'mmap 0x200000 0x200000 rw\nmadvise 0x200000 0x200000 hugepage\nread 0x200000\nrss\n';

/** sysfs and sysctl files the model has a setting for. */
const KNOBS: [keyof KernelSettings, string, (text: string) => unknown][] = [
  ['thpEnabled', '/sys/kernel/mm/transparent_hugepage/enabled', (t) => /\[(\w+)\]/.exec(t)?.[1]],
  ['thpUseZeroPage', '/sys/kernel/mm/transparent_hugepage/use_zero_page', (t) => t.trim() === '1'],
  ['khugepagedMaxPtesNone', '/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none', Number],
  ['khugepagedMaxPtesShared', '/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_shared', Number],
  ['khugepagedPagesToScan', '/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan', Number],
  ['maxMapCount', '/proc/sys/vm/max_map_count', Number],
  ['nrHugepages', '/proc/sys/vm/nr_hugepages', Number],
  ['unprivilegedUserfaultfd', '/proc/sys/vm/unprivileged_userfaultfd', (t) => t.trim() === '1'],
  // mode 2 (strict accounting) is not modelled: it is reported as not probed
  ['overcommitMemory', '/proc/sys/vm/overcommit_memory', (t) => ({ '0': 'guess', '1': 'always' })[t.trim()]],
  ['ramBytes', '/proc/meminfo', (t) => meminfo(t, 'MemTotal')],
  ['swapBytes', '/proc/meminfo', (t) => meminfo(t, 'SwapTotal')],
];

/** A /proc/meminfo field in bytes. */
function meminfo(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface CalibrateOptions {
  /** The recorder binary; null when there is none (no compiler, not Linux). @defaultValue built on demand */
  recorder?: string | null;
  /** Root of the /sys and /proc files (tests point it elsewhere). @defaultValue '' */
  root?: string;
  name?: string;
}

export interface QuickCalibration {
  profile: Profile;
  /** Probes whose real output the simulator did not reproduce under the new profile. */
  mismatches: { probe: string; real: string; simulated: string }[];
}

/** Probe this machine's kernel; what cannot be probed keeps the default and is listed in notProbed. */
export function calibrateQuick(opts: CalibrateOptions = {}): QuickCalibration {
  const settings: KernelSettings = { ...DEFAULT_SETTINGS };
  const probed: Record<string, ProbeNote> = {};
  const notProbed: string[] = [];
  const root = opts.root ?? '';
  for (const [key, file, parse] of KNOBS) {
    let text: string;
    try {
      text = readFileSync(root + file, 'utf8');
    } catch {
      notProbed.push(`${key}: ${file} cannot be read here`);
      continue;
    }
    const value = parse(text);
    if (typeof value !== typeof DEFAULT_SETTINGS[key] || (typeof value === 'number' && !Number.isInteger(value))) {
      notProbed.push(`${key}: ${file} holds '${text.trim()}'`);
      continue;
    }
    (settings as unknown as Record<string, unknown>)[key] = value;
    probed[key] = { value, how: `read ${file}` };
  }
  for (const f of ['defrag', 'khugepaged/defrag']) {
    try {
      probed[`thp ${f} (not modelled)`] = { value: readFileSync(`${root}/sys/kernel/mm/transparent_hugepage/${f}`, 'utf8').trim(), how: 'read sysfs' };
    } catch {
      // informational only
    }
  }
  const bin = opts.recorder === undefined ? (process.platform === 'linux' ? recorderBinary() : null) : opts.recorder;
  const mismatches: QuickCalibration['mismatches'] = [];
  if (!bin) {
    notProbed.push('behaviour probes and UFFDIO_API features: no recorder (it needs Linux and a C compiler, cc); those settings keep the default');
  } else {
    const real = (scenario: string): string | null => {
      try {
        return runRecorder(scenario, bin);
      } catch (e) {
        notProbed.push(`recorder failed on a probe (${(e as Error).message.split('\n')[0]}); is this root?`);
        return null;
      }
    };
    const offered: string[] = [];
    for (const name of Object.keys(UFFD_FEATURES)) {
      const out = real(`uffd ${name}\n`);
      if (out && results(out)[0] === 'ok') offered.push(name);
    }
    probed.uffdFeatures = { value: offered, how: 'UFFDIO_API with each feature alone, through the recorder' };
    if (!offered.length) notProbed.push('userfaultfd: no feature accepted (no userfaultfd, or not privileged)');
    for (const p of BEHAVIOUR_PROBES) {
      const out = real(p.scenario);
      if (!out) continue;
      const value = p.read(results(out));
      (settings as unknown as Record<string, unknown>)[p.setting] = value;
      probed[p.setting] = { value, how: `${p.what}: probed with the recorder` };
    }
    // every probe, and the huge-zero check, must now come out the same on the simulator
    for (const [name, scenario] of [...BEHAVIOUR_PROBES.map((p) => [p.setting, p.scenario]), ['hugeZeroRead', HUGE_ZERO_CHECK]]) {
      if (name === 'hugeZeroRead' && settings.thpEnabled === 'never') continue;
      const r = real(scenario);
      if (!r) continue;
      const s = runScenario(scenario, { settings });
      const [rl, sl] = [r, s].map((o) => o.split('\n').slice(1).join('\n'));
      if (rl !== sl) mismatches.push({ probe: name, real: rl, simulated: sl });
    }
  }
  const profile: Profile = {
    ...DEFAULT_PROFILE,
    name: opts.name ?? `probed-${release()}`,
    kernel: { release: release(), settings },
    probed,
    notProbed,
  };
  return { profile, mismatches };
}

/** The `recorder --bench` figures calibrate takes, ns per operation (tools/recorder-bench.h). */
const BENCHES = [
  'write-fault-4k',
  'cow-zero-4k',
  'dontneed-empty-4k',
  'dontneed-4k',
  'dontneed-2m',
  'mprotect-4k',
  'mmap-munmap-4k-10k-vmas',
  'pte-alloc-fault-4k',
  'munmap-pte-free-4k',
  'munmap-populated-4k',
  'uffd-zeropage-4k',
  'uffd-copy-4k',
  'uffd-copy-touch-4k',
  'uffd-move-4k',
  'uffd-move-512x4k',
  'sigbus-roundtrip',
  'mremap-4k',
  'mremap-32x4k',
];

/**
 * The model's costs from the figures: each measured operation is a sum of the model's parts (a
 * call, pages zapped, a TLB flush, page tables), so the parts come out by difference. A figure
 * missing (a benchmark that could not run) leaves the costs that need it as they were.
 */
export function deriveCosts(c: Profile['costs'], m: Record<string, number>): void {
  const has = (...names: string[]) => names.every((n) => m[n] > 0);
  const sys = c.syscallNs;
  if (has('write-fault-4k')) c.faultNs.anon = c.faultNs.file = m['write-fault-4k'];
  if (has('mmap-munmap-4k-10k-vmas')) sys.mmap = sys.munmap = sys.brk = m['mmap-munmap-4k-10k-vmas'] / 2;
  if (has('mprotect-4k')) sys.mprotect = m['mprotect-4k'];
  if (has('dontneed-empty-4k')) sys.madvise = m['dontneed-empty-4k'];
  // DONTNEED of 512 pages and of one: the same call and flush, 511 more pages zapped
  if (has('dontneed-2m', 'dontneed-4k')) c.work.zapPageNs = Math.max(0, (m['dontneed-2m'] - m['dontneed-4k']) / 511);
  // UFFDIO_MOVE of one page is the call, the page and a flush; of 512 in one ioctl the call, 512
  // pages and one flush (move_present_ptes batches them): the page's part comes out of the two
  let movePage = 0;
  if (has('uffd-move-4k', 'uffd-move-512x4k')) movePage = Math.max(0, (512 * m['uffd-move-512x4k'] - m['uffd-move-4k']) / 511);
  // the flush: what a populated page's DONTNEED adds beyond the empty call and the zap, or what
  // a one-page UFFDIO_MOVE adds to the call and the page, whichever is less (the first also frees
  // a page outside a batch, which the model does not price apart)
  const flushes: number[] = [];
  if (has('dontneed-4k', 'dontneed-empty-4k')) flushes.push(m['dontneed-4k'] - m['dontneed-empty-4k'] - c.work.zapPageNs);
  if (has('uffd-move-4k')) flushes.push(m['uffd-move-4k'] - sys.UFFDIO_MOVE - movePage);
  if (flushes.length) c.work.tlbFlushNs = Math.max(0, Math.min(...flushes));
  // the write fault on a zero page ends with the flush of the old entry (do_wp_page)
  if (has('cow-zero-4k')) c.faultNs.cow = Math.max(0, m['cow-zero-4k'] - c.work.tlbFlushNs);
  // one page alone in its 2 MiB block: its fault allocates the PTE table, its munmap frees it
  if (has('pte-alloc-fault-4k')) c.work.pteAllocNs = Math.max(0, m['pte-alloc-fault-4k'] - c.faultNs.anon);
  if (has('munmap-pte-free-4k', 'munmap-populated-4k')) c.work.pteFreeNs = Math.max(0, m['munmap-pte-free-4k'] - m['munmap-populated-4k']);
  const perPage = (ioctl: string, figure: string, less = 0) => {
    if (has(figure)) sys[`${ioctl}:pages`] = Math.max(0, m[figure] - sys[ioctl] - less);
  };
  // a page UFFDIO_COPY filled, written for the first time: no fault, but maybe a hypervisor trap
  if (has('uffd-copy-touch-4k')) c.work.firstTouchNs = m['uffd-copy-touch-4k'];
  perPage('UFFDIO_ZEROPAGE', 'uffd-zeropage-4k');
  perPage('UFFDIO_COPY', 'uffd-copy-4k');
  if (has('uffd-move-4k', 'uffd-move-512x4k')) sys['UFFDIO_MOVE:pages'] = movePage;
  else perPage('UFFDIO_MOVE', 'uffd-move-4k', c.work.tlbFlushNs); // a one-page move ends with its flush
  // mremap of 32 pages and of one into a fresh reservation: the same call and flush, 31 more PTEs
  // moved one by one (a shadow-paging guest pays a trap or a flush for each)
  if (has('mremap-4k', 'mremap-32x4k')) {
    c.work.pteMoveNs = Math.max(0, (m['mremap-32x4k'] - m['mremap-4k']) / 31);
    sys.mremap = Math.max(0, m['mremap-4k'] - c.work.pteMoveNs - c.work.tlbFlushNs);
  }
  if (has('sigbus-roundtrip')) c.faultNs.userfault = c.faultNs.sigsegv = c.faultNs.sigbus = m['sigbus-roundtrip'];
}

/** What `recorder --contention MODE` prints: the victim's ns per fault and the other thread's ops per second. */
export interface ContentionFigure {
  victimNsPerFault: number;
  opsPerSec: number;
}

/**
 * The contention modes calibrate runs (tools/recorder-contention.h); `idle` first and last, the
 * faster counting, so that a noisy moment does not make the baseline slower than the rest.
 */
const CONTENTION_RUNS = ['idle', 'touch', 'mmap', 'dontneed0', 'dontneed', 'idle'];
const CONTENTION_SECONDS = 1;

/**
 * The thread costs from the two-thread experiment of contention.md, run on this machine: what the
 * victim lost per fault against `idle`, spread over the other thread's work in that time (a
 * fault in `touch`, two mmap_lock acquisitions in `mmap`, an empty DONTNEED in `dontneed0`, a
 * shootdown in `dontneed`); the shootdown's sender waits what its ops took beyond their work.
 */
export function deriveThreadCosts(c: Profile['costs'], m: Record<string, ContentionFigure>): void {
  const idle = m.idle;
  if (!idle) return;
  const lossPerUnit = (mode: string, unitsPerOp: number): number | null => {
    const r = m[mode];
    if (!r) return null;
    const unitsPerVictimFault = (r.opsPerSec * unitsPerOp * r.victimNsPerFault) / 1e9;
    return unitsPerVictimFault > 0 ? Math.max(0, (r.victimNsPerFault - idle.victimNsPerFault) / unitsPerVictimFault) : null;
  };
  const t = c.thread;
  t.faultTaxNs = lossPerUnit('touch', 1) ?? t.faultTaxNs;
  t.lockBounceNs = lossPerUnit('mmap', 2) ?? t.lockBounceNs;
  t.madviseTaxNs = lossPerUnit('dontneed0', 1) ?? t.madviseTaxNs;
  const shootdown = lossPerUnit('dontneed', 1);
  if (shootdown !== null) t.ipiReceiveNs = Math.max(0, shootdown - t.faultTaxNs - t.madviseTaxNs);
  if (m.dontneed) {
    const work = c.faultNs.anon + c.syscallNs.madvise + c.work.zapPageNs + c.work.tlbFlushNs;
    t.ipiSendWaitNs = Math.max(0, 1e9 / m.dontneed.opsPerSec - work);
  }
}

/** The two-thread experiment on this machine; null with fewer than two CPUs (it pins a thread to each of two). */
function measureContention(bin: string, onStep: (done: number) => void): Record<string, ContentionFigure> | null {
  if (availableParallelism() < 2) return null;
  const out: Record<string, ContentionFigure> = {};
  CONTENTION_RUNS.forEach((mode, i) => {
    const line = execFileSync(bin, ['--contention', mode, String(CONTENTION_SECONDS)], { encoding: 'utf8', timeout: 60_000 }).trim();
    const [, victim, ops] = line.split(' ').map(Number);
    if (victim > 0 && ops >= 0 && !(out[mode]?.victimNsPerFault <= victim)) out[mode] = { victimNsPerFault: victim, opsPerSec: ops };
    onStep((i + 1) / CONTENTION_RUNS.length);
  });
  return out;
}

/**
 * Full calibration: the quick probes, then the per-call costs `recorder --bench` measures on this
 * machine. Costs it has no benchmark for keep the default's figures, and the profile says so.
 */
export function calibrateCosts(profile: Profile, bin: string | null, onStep: (done: number) => void = () => {}): Profile {
  const costs = structuredClone(profile.costs);
  const measured: string[] = [];
  const notes: string[] = [];
  if (!bin) return { ...profile, notProbed: [...(profile.notProbed ?? []), 'costs: no recorder, the default costs are kept'] };
  const figures: Record<string, number> = {};
  const steps = BENCHES.length + CONTENTION_RUNS.length;
  BENCHES.forEach((name, i) => {
    const line = execFileSync(bin, ['--bench', name], { encoding: 'utf8', timeout: 300_000 }).trim();
    const ns = Number(line.split(' ')[1]);
    if (ns > 0) {
      figures[name] = ns;
      measured.push(`${name} ${Math.round(ns)} ns`);
    }
    onStep((i + 1) / steps);
  });
  deriveCosts(costs, figures);
  const contention = measureContention(bin, (f) => onStep((BENCHES.length + f * CONTENTION_RUNS.length) / steps));
  if (contention) {
    deriveThreadCosts(costs, contention);
    measured.push(`thread costs from the two-thread experiment (${Object.entries(contention).map(([k, v]) => `${k} ${Math.round(v.victimNsPerFault)} ns/fault at ${Math.round(v.opsPerSec)} ops/s`).join(', ')})`);
  } else notes.push('thread costs: fewer than two CPUs for the two-thread experiment, the default thread costs are kept');
  const user = measureUserCosts();
  if (user) {
    costs.userCallNs = user.callNs;
    costs.memsetNsPerByte = user.memsetNsPerByte;
    measured.push(`malloc call ${user.callNs} ns`, `memset ${user.memsetNsPerByte} ns/B`);
  }
  costs.machine = `this machine (${release()}), measured by calibrate: ${measured.join(', ')}; other costs from ${DEFAULT_PROFILE.costs.machine}`;
  return { ...profile, costs, ...(notes.length ? { notProbed: [...(profile.notProbed ?? []), ...notes] } : {}) };
}
