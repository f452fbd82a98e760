// The two-thread experiment of ../shared/kernel-oracle/contention.md on the simulator: thread F
// (CPU 0) write-faults 4 KiB pages of its own 2 MiB region and drops them with MADV_DONTNEED every
// 512 faults; thread B (CPU 1) runs one kind of memory-management work in a loop in the same
// process. The figure is F's time per fault, and its slowdown against B idle.
import { Process } from '../mm/process.js';
import { MADV_DONTNEED, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, PAGE_SIZE } from '../mm/uapi.js';
import { UFFD_FEATURE_SIGBUS, UFFDIO_REGISTER_MODE_MISSING } from '../mm/userfaultfd/uapi.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import { Timeline } from './timeline.js';

/** contention.md's table: the victim's ns per fault on Linux 6.18, and the slowdown against idle. */
export const REAL_CONTENTION: Record<string, { victimNsPerFault: number; slowdown: number }> = {
  idle: { victimNsPerFault: 1415, slowdown: 1.0 },
  touch: { victimNsPerFault: 1496, slowdown: 1.06 },
  brk: { victimNsPerFault: 1691, slowdown: 1.2 },
  mmap: { victimNsPerFault: 1738, slowdown: 1.23 },
  mprotect: { victimNsPerFault: 1923, slowdown: 1.36 },
  dontneed0: { victimNsPerFault: 1790, slowdown: 1.27 },
  dontneed64: { victimNsPerFault: 1600, slowdown: 1.13 },
  mmaptouch: { victimNsPerFault: 2832, slowdown: 2.0 },
  dontneed: { victimNsPerFault: 3431, slowdown: 2.42 },
  zeropage: { victimNsPerFault: 3852, slowdown: 2.72 },
};

export const CONTENTION_MODES = Object.keys(REAL_CONTENTION);

export interface ContentionResult {
  mode: string;
  victimNsPerFault: number;
  slowdown: number;
  realSlowdown: number;
  backgroundOpsPerSec: number;
  tlbFlushes: number;
  tlbIpis: number;
}

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** F's own fault cost, so that F alone runs at contention.md's idle figure (its DONTNEED every 512 faults included). */
const VICTIM_FAULT_NS = 1177;

/** One op of the background thread for a mode; returns false when the mode does nothing. */
function backgroundOp(p: Process, mode: string): () => boolean {
  const region = p.mmap(0, 64 << 20, RW, ANON | MAP_NORESERVE);
  p.madvise(region, 64 << 20, MADV_NOHUGEPAGE);
  let at = 0;
  const next = () => {
    const a = region + at;
    at = (at + P) % (64 << 20);
    return a;
  };
  switch (mode) {
    case 'idle':
      return () => false;
    case 'touch':
      return () => {
        p.write8(next(), 1);
        if (at % (2 << 20) === 0) p.madvise(region + at - (2 << 20) + (at === 0 ? 64 << 20 : 0), 2 << 20, MADV_DONTNEED);
        return true;
      };
    case 'brk': {
      p.brk(p.brk(0) + P); // the heap exists; then grow and shrink it a page at a time
      return () => {
        p.sbrk(P);
        p.sbrk(-P);
        return true;
      };
    }
    case 'mmap':
      return () => {
        p.munmap(p.mmap(0, P, RW, ANON), P);
        return true;
      };
    case 'mmaptouch':
      return () => {
        const a = p.mmap(0, P, RW, ANON);
        p.write8(a, 1);
        p.munmap(a, P);
        return true;
      };
    case 'mprotect': {
      let ro = false;
      return () => {
        ro = !ro;
        p.mprotect(region + P, P, ro ? PROT_READ : RW);
        return true;
      };
    }
    case 'dontneed0':
      return () => {
        p.madvise(next(), P, MADV_DONTNEED);
        return true;
      };
    case 'dontneed64':
      return () => {
        const a = next();
        for (let i = 0; i < 64; i++) p.write8(a + i * P, 1);
        at = (at + 63 * P) % (64 << 20);
        p.madvise(a, 64 * P, MADV_DONTNEED);
        return true;
      };
    case 'dontneed':
      return () => {
        const a = next();
        p.write8(a, 1);
        p.madvise(a, P, MADV_DONTNEED);
        return true;
      };
    case 'zeropage': {
      const heap = p.mmap(0, 2 << 20, RW, ANON);
      const fd = p.userfaultfd();
      p.uffdApi(fd, UFFD_FEATURE_SIGBUS);
      p.uffdRegister(fd, heap, 2 << 20, UFFDIO_REGISTER_MODE_MISSING);
      return () => {
        p.uffdZeropage(fd, heap, P);
        p.madvise(heap, P, MADV_DONTNEED);
        return true;
      };
    }
    default:
      throw new Error(`unknown contention mode '${mode}' (known: ${CONTENTION_MODES.join(', ')})`);
  }
}

/** Run one mode for `faults` victim faults. */
export function runContention(mode: string, faults = 20_000, profile: Profile = DEFAULT_PROFILE): ContentionResult {
  if (!REAL_CONTENTION[mode]) throw new Error(`unknown contention mode '${mode}' (known: ${CONTENTION_MODES.join(', ')})`);
  const p = new Process({ settings: profile.kernel.settings });
  const victim = p.mmap(0, 2 << 20, RW, ANON);
  p.madvise(victim, 2 << 20, MADV_NOHUGEPAGE);
  const op = backgroundOp(p, mode);
  p.write8(victim, 0); // the victim's VMA has its anon_vma before the measurement starts
  p.madvise(victim, P, MADV_DONTNEED);
  const tl = new Timeline(p, 2, 2, profile.costs);
  tl.faultNsOverride[0] = VICTIM_FAULT_NS;
  const flushes0 = p.mm.tlb.flushes;
  const ipis0 = p.mm.tlb.ipis;
  let done = 0;
  let bOps = 0;
  tl.finished[1] = mode === 'idle';
  while (done < faults) {
    if (!tl.finished[1] && tl.clock[1] <= tl.clock[0]) {
      op();
      bOps++;
      tl.charge(1);
      continue;
    }
    p.write8(victim + (done % 512) * P, 1);
    done++;
    if (done % 512 === 0) p.madvise(victim, 2 << 20, MADV_DONTNEED);
    tl.charge(0);
  }
  const ns = tl.clock[0] / done;
  return {
    mode,
    victimNsPerFault: Math.round(ns),
    slowdown: 0,
    realSlowdown: REAL_CONTENTION[mode].slowdown,
    backgroundOpsPerSec: Math.round(bOps / (tl.clock[1] / 1e9 || 1)),
    tlbFlushes: p.mm.tlb.flushes - flushes0,
    tlbIpis: p.mm.tlb.ipis - ipis0,
  };
}

/** Every mode, with slowdowns against the simulated idle run. */
export function contentionTable(modes = CONTENTION_MODES, faults?: number, profile: Profile = DEFAULT_PROFILE): ContentionResult[] {
  const idle = runContention('idle', faults, profile).victimNsPerFault;
  return modes.map((m) => {
    const r = runContention(m, faults, profile);
    return { ...r, slowdown: Math.round((r.victimNsPerFault / idle) * 100) / 100 };
  });
}

