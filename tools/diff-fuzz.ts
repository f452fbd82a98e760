// Developer tool: random scenarios run on this machine's kernel (tools/bin/recorder) and on the
// simulator; prints the first difference of each scenario that disagrees.
//   node dist/tools/diff-fuzz.js [COUNT] [SEED] [uffd] [file] [locks] [thp] [unaligned]
// FUZZ_KEEP=1 keeps every case's real-kernel output in /tmp/fuzz/all-N.out.
// The kernel is probed first (calibrate --quick) and the simulator runs under the probed profile,
// so a differently built or booted kernel is not reported as a simulator bug.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { DEFAULT_SETTINGS } from '../src/mm/kernel.js';
import { calibrateQuick } from '../src/experiment/calibrate.js';
import { recorderBinary } from '../src/experiment/recorder.js';
import { runScenario } from '../src/script/run.js';
import { rng } from '../src/workloads/synthetic.js';

const count = Number(process.argv[2] ?? 100);
const bin = recorderBinary();
if (!bin) throw new Error('diff-fuzz needs the recorder (Linux and cc)');
mkdirSync('/tmp/fuzz', { recursive: true });
const probe = calibrateQuick({ recorder: bin });
const settings = probe.profile.kernel.settings;
const differ = Object.entries(settings).filter(([k, v]) => DEFAULT_SETTINGS[k as keyof typeof DEFAULT_SETTINGS] !== v);
console.log(`profile ${probe.profile.name}: ${differ.length ? differ.map(([k, v]) => `${k}=${v}`).join(' ') : 'mainline defaults'}`);
for (const m of probe.mismatches) console.log(`probe ${m.probe} not reproduced:\n  real: ${m.real}\n  sim:  ${m.simulated}`);
const r = rng(Number(process.argv[3] ?? 1));
const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
const P = 0x1000;
const thp = process.argv.slice(4).includes('thp');
/** `thp`: more 2 MiB-aligned addresses and 2-4 MiB lengths, so THP faults, splits and collapses happen. */
const page = () =>
  thp && r() < 0.4 ? Math.floor(r() * 3) * 0x200000 : Math.floor(r() * 40) * P + (r() < 0.2 ? 0x200000 : 0);
const len = () => pick(thp ? [1, 2, 16, 512, 512, 1024] : [1, 1, 2, 3, 4, 8, 16, 512]) * P;
const prot = () => pick(['none', 'r', 'rw', 'rw', 'rw']);

/** userfaultfd operations, for scenarios that set one up (sigbus mode: no monitor needed). */
function uffdOp(): string {
  const k = r();
  if (k < 0.2) return `uffd_register 0x${page().toString(16)} 0x${len().toString(16)} ${pick(['missing', 'missing', 'wp', 'missing wp'])}`;
  if (k < 0.35) return `uffd_zeropage 0x${page().toString(16)} 0x${len().toString(16)}`;
  if (k < 0.5) return `uffd_copy 0x${page().toString(16)} 0x${len().toString(16)} ${1 + Math.floor(r() * 9)}`;
  if (k < 0.65) return `uffd_move 0x${page().toString(16)} 0x${page().toString(16)} 0x${len().toString(16)}${r() < 0.5 ? ' allow_src_holes' : ''}`;
  if (k < 0.75) return `uffd_wp 0x${page().toString(16)} 0x${len().toString(16)} ${pick(['on', 'off'])}`;
  if (k < 0.85) return `uffd_poison 0x${page().toString(16)} 0x${len().toString(16)}`;
  if (k < 0.92) return `uffd_unregister 0x${page().toString(16)} 0x${len().toString(16)}`;
  return `kwrite 0x${page().toString(16)} 0x1000`;
}

const modes = process.argv.slice(4);
const withUffd = modes.includes('uffd');
/** `file`: scenarios also map a 4 MiB memfd, shared or private, and punch and write it. */
const withFile = modes.includes('file');
/** `locks`: scenarios also compare mmap_lock acquisitions (the recorder reads the tracepoint). */
const withLocks = modes.includes('locks');
/** `unaligned`: half the one-byte loads and stores fall inside a page, not at its start. */
const unaligned = modes.includes('unaligned');
const at = () => page() + (unaligned && r() < 0.5 ? 1 + Math.floor(r() * (P - 1)) : 0);

function mmapFlags(): string {
  let f = r() < 0.3 ? ' fixed' : '';
  if (r() < 0.1) f += ' noreserve';
  if (r() < 0.1) f += ' populate';
  if (withFile && r() < 0.4) f += `${r() < 0.6 ? ' shared' : ''} memfd f 0x${(Math.floor(r() * 16) * P).toString(16)}`;
  else if (r() < 0.15) f += ' shared';
  return f;
}

function fileOp(): string {
  const off = `0x${(Math.floor(r() * 24) * P).toString(16)}`;
  return r() < 0.5 ? `punch f ${off} 0x${len().toString(16)}` : `pwrite f ${off} 0x${len().toString(16)} ${1 + Math.floor(r() * 9)}`;
}

function scenario(): string {
  const lines: string[] = [];
  if (withFile) lines.push('memfd f 0x400000');
  if (withLocks) lines.push('locks');
  if (withUffd) lines.push(`uffd sigbus move poison${r() < 0.5 ? ' wp_unpopulated' : ''}${r() < 0.3 ? ' event_remove event_unmap' : ''}`);
  for (let i = 0; i < 25; i++) {
    if (withUffd && r() < 0.35) {
      lines.push(uffdOp());
      continue;
    }
    const k = r();
    if (k < 0.2) lines.push(`mmap 0x${page().toString(16)} 0x${len().toString(16)} ${prot()}${mmapFlags()}`);
    else if (k < 0.3) lines.push(`munmap 0x${page().toString(16)} 0x${len().toString(16)}`);
    else if (k < 0.42) lines.push(`mprotect 0x${page().toString(16)} 0x${len().toString(16)} ${prot()}`);
    else if (k < 0.55) lines.push(`madvise 0x${page().toString(16)} 0x${len().toString(16)} ${pick(['dontneed', 'free', 'hugepage', 'nohugepage', 'guard_install', 'guard_remove', 'populate_write', 'populate_read', 'collapse', 'willneed', 'remove', 'cold', 'pageout', 'random', 'sequential', 'normal', 'mergeable', 'unmergeable', 'dontdump', 'wipeonfork'])}`);
    else if (k < 0.62) lines.push(`mremap 0x${page().toString(16)} 0x${len().toString(16)} 0x${len().toString(16)}${r() < 0.5 ? ' maymove' : ''}${r() < 0.15 ? ' dontunmap' : ''}${r() < 0.4 ? ` maymove fixed 0x${(0x1000000 + page()).toString(16)}` : ''}`);
    else if (k < 0.75) lines.push(`write 0x${at().toString(16)} ${1 + Math.floor(r() * 200)}`);
    else if (k < 0.85) lines.push(`read 0x${at().toString(16)}`);
    else if (k < 0.9) lines.push(`fill 0x${page().toString(16)} 0x${len().toString(16)} 7`);
    else if (k < 0.93) lines.push(withFile && r() < 0.5 ? fileOp() : `kread 0x${page().toString(16)} 0x2000`);
    else if (k < 0.96) lines.push(withLocks && r() < 0.7 ? 'locks' : 'count');
    else lines.push('rss');
  }
  lines.push('maps');
  return lines.join('\n') + '\n';
}

let bad = 0;
for (let n = 0; n < count; n++) {
  const s = scenario();
  let realOut: string;
  try {
    realOut = execFileSync(bin, { input: s, encoding: 'utf8', timeout: 20_000 });
  } catch (e) {
    // the recorder itself died (a signal its handlers do not catch): keep the case, go on
    writeFileSync(`/tmp/fuzz/crash-${n}.txt`, s);
    console.log(`case ${n}: recorder failed (${(e as { signal?: string }).signal ?? 'exit'}), kept in /tmp/fuzz/crash-${n}.txt`);
    bad++;
    continue;
  }
  const real = realOut.split('\n').slice(1);
  const sim = runScenario(s, { settings }).split('\n').slice(1);
  const i = real.findIndex((l, k) => l !== sim[k]);
  if (process.env.FUZZ_KEEP) writeFileSync(`/tmp/fuzz/all-${n}.out`, real.join('\n'));
  if (i < 0) continue;
  bad++;
  writeFileSync(`/tmp/fuzz/case-${n}.txt`, s);
  console.log(`case ${n} (/tmp/fuzz/case-${n}.txt) line ${i + 1}:\n  real: ${real[i]}\n  sim:  ${sim[i]}`);
}
console.log(`${count - bad} agreed, ${bad} differed`);
