// Run a scenario against the simulated kernel and print what the real-kernel runner prints for it,
// line for line (first line `# simulator`). Addresses are offsets into a 1 GiB arena.
import { Errno, SignalError } from '../mm/uapi.js';
import * as U from '../mm/uapi.js';
import { Process, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MFD_CLOEXEC, MFD_HUGETLB } from '../mm/process.js';
import { vmaStats } from '../mm/proc.js';
import { permString, VM_MNEMONICS } from '../mm/vma.js';
import type { KernelSettings } from '../mm/kernel.js';
import { ADVICE } from './check.js';
import { hasWord, parseNumber, parseScenario, type ScenarioLine } from './parse.js';
import { UffdScenario } from './uffd-ops.js';

/** The arena: a 1 GiB-aligned window far below mmap_base, so kernel-chosen addresses fall outside. */
export const ARENA_BASE = 0x7f0000000000;
export const ARENA_SIZE = 1024 * 1024 * 1024;

/** Operations after which the runner prints the monitor's log (print_log in runner.c). */
const FLUSHING_OPS = new Set(['read', 'write', 'fill', 'kread', 'kwrite', 'maps', 'events']);

/** VmFlags the runner keeps, in the order it prints them (the kernel's order). */
const KEPT_FLAGS = new Set(['um', 'uw', 'ui', 'hg', 'nh', 'lo', 'dc', 'wf', 'sd']);


export function protOf(s: string | undefined): number {
  if (!s || s === 'none' || s === '---') return U.PROT_NONE;
  return (s.includes('r') ? U.PROT_READ : 0) | (s.includes('w') ? U.PROT_WRITE : 0) | (s.includes('x') ? U.PROT_EXEC : 0);
}

/** An offset into the arena as the runner prints it: unsigned, so one below the arena wraps. */
const rel = (addr: number) => {
  const d = addr - ARENA_BASE;
  return '+0x' + (d < 0 ? (2n ** 64n + BigInt(d)).toString(16) : d.toString(16));
};

export interface ScenarioOptions {
  settings?: Partial<KernelSettings>;
  /** The arena's size (the recorder's RECORDER_ARENA_GB). @defaultValue 1 GiB */
  arenaSize?: number;
}

export class ScenarioError extends Error {
  constructor(
    readonly line: ScenarioLine,
    /** What the lines before it printed. */
    readonly output: string,
    cause: unknown,
  ) {
    super(`operation ${line.index} (${line.text.slice(0, 80)}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** One scenario run: a process, its arena, its memfds and its userfaultfd state. */
export class ScenarioRunner {
  readonly proc: Process;
  private readonly memfds = new Map<string, number>();
  private readonly sinkFd: number;
  readonly uffd: UffdScenario;
  private readonly arenaSize: number;
  private faultsSeen = 0;

  constructor(opts: ScenarioOptions = {}) {
    this.arenaSize = opts.arenaSize ?? ARENA_SIZE;
    // recordings are made with vm.nr_hugepages=8 (tools/record.sh)
    this.proc = new Process({ settings: { nrHugepages: 8, ...opts.settings } });
    // the runner's sink for `kread` exists before the arena, as in runner.c
    this.sinkFd = this.proc.memfdCreate('sink', MFD_CLOEXEC);
    this.proc.ftruncate(this.sinkFd, 1 << 24);
    this.uffd = new UffdScenario(this.proc, ARENA_BASE, this.arenaSize);
    this.proc.mm.lock.take(); // the runner counts from the first operation
    for (const v of Object.values(this.proc.mm.faults)) this.faultsSeen += v;
  }

  /**
   * Run every line; returns the whole output, first line `# simulator`. An error that is not an
   * errno or a signal (a bug, or a request the simulator cannot hold) is a ScenarioError carrying
   * the output so far and the operation that failed.
   */
  run(source: string): string {
    const out = ['# simulator'];
    for (const line of parseScenario(source)) {
      try {
        out.push(this.step(line));
      } catch (e) {
        throw new ScenarioError(line, out.join('\n') + '\n', e);
      }
    }
    return out.join('\n') + '\n';
  }

  /** Run one operation and return its output line(s) without the trailing newline. */
  step(line: ScenarioLine): string {
    let result: string;
    try {
      result = this.exec(line);
    } catch (e) {
      if (e instanceof Errno) result = `err ${e.code}`;
      else throw e;
    }
    // the runner prints what the monitor logged only after these operations
    const log = FLUSHING_OPS.has(line.op) ? this.uffd.flushLog() : '';
    return `${line.index} ${line.text} ->${log} ${result}`;
  }

  private exec(l: ScenarioLine): string {
    const a = l.args;
    const p = this.proc;
    const off = (i: number) => ARENA_BASE + parseNumber(a[i]);
    switch (l.op) {
      case 'mmap': {
        let flags = hasWord(a, 'fixed') ? U.MAP_FIXED : U.MAP_FIXED_NOREPLACE;
        flags |= hasWord(a, 'shared') ? U.MAP_SHARED : U.MAP_PRIVATE;
        if (hasWord(a, 'noreserve')) flags |= U.MAP_NORESERVE;
        if (hasWord(a, 'populate')) flags |= U.MAP_POPULATE;
        let fd = -1;
        let foff = 0;
        const m = a.indexOf('memfd');
        if (m >= 3 && m + 1 < a.length) {
          fd = this.memfds.get(a[m + 1]) ?? -1;
          foff = parseNumber(a[m + 2]);
        }
        if (fd < 0) flags |= U.MAP_ANONYMOUS;
        return `ok ${rel(p.mmap(off(0), parseNumber(a[1]), protOf(a[2]), flags, fd, foff))}`;
      }
      case 'munmap':
        p.munmap(off(0), parseNumber(a[1]));
        return 'ok';
      case 'mprotect':
        p.mprotect(off(0), parseNumber(a[1]), protOf(a[2]));
        return 'ok';
      case 'mremap': {
        let flags = 0;
        let newAddr = 0;
        if (hasWord(a, 'maymove')) flags |= U.MREMAP_MAYMOVE;
        if (hasWord(a, 'dontunmap')) flags |= U.MREMAP_DONTUNMAP;
        const f = a.indexOf('fixed');
        if (f >= 3 && f + 1 < a.length) {
          flags |= U.MREMAP_FIXED;
          newAddr = ARENA_BASE + parseNumber(a[f + 1]);
        }
        const r = p.mremap(off(0), parseNumber(a[1]), parseNumber(a[2]), flags, newAddr);
        return r < ARENA_BASE || r >= ARENA_BASE + this.arenaSize ? 'ok elsewhere' : `ok ${rel(r)}`;
      }
      case 'madvise': {
        const adv = ADVICE[a[2]] ?? parseNumber(a[2]);
        p.madvise(off(0), parseNumber(a[1]), adv);
        return 'ok';
      }
      case 'memfd': {
        const fd = p.memfdCreate(a[0], MFD_CLOEXEC | (hasWord(a, 'hugetlb') ? MFD_HUGETLB : 0));
        p.ftruncate(fd, parseNumber(a[1]));
        this.memfds.set(a[0], fd);
        return 'ok';
      }
      case 'punch':
        p.fallocate(this.memfd(a[0]), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, parseNumber(a[1]), parseNumber(a[2]));
        return 'ok';
      case 'pwrite':
        return `ok ${p.pwriteFill(this.memfd(a[0]), parseNumber(a[1]), parseNumber(a[2]), parseNumber(a[3]) & 0xff)}`;
      case 'read':
      case 'write':
      case 'fill':
        return this.access(l.op, a);
      case 'kread':
        return `ok ${p.pwrite(this.sinkFd, off(0), parseNumber(a[1]), 0)}`;
      case 'kwrite': {
        const fd = p.open('/dev/zero');
        try {
          return `ok ${p.readInto(fd, off(0), parseNumber(a[1]))}`;
        } finally {
          p.close(fd);
        }
      }
      case 'maps':
        return 'ok' + this.maps();
      case 'count':
        return `ok ${this.arenaVmas().length}`;
      case 'rss': {
        let kb = 0;
        for (const v of this.arenaVmas()) kb += vmaStats(p.mm, v).rss / 1024;
        return `ok ${kb}`;
      }
      case 'events':
        return 'ok';
      case 'faults': {
        // page faults since the last `faults` (the recorder reads the kernel's software counter)
        let n = 0;
        for (const v of Object.values(p.mm.faults)) n += v;
        const d = n - this.faultsSeen;
        this.faultsSeen = n;
        return `ok ${d}`;
      }
      case 'elapsed':
        // the recorder prints the real time its operations took; the simulator has none to give
        return 'ok 0';
      case 'locks': {
        const c = p.mm.lock.take();
        return `ok write=${c.write} read=${c.read}`;
      }
      default:
        if (this.uffd.handles(l.op)) return this.uffd.exec(l.op, a);
        return 'err unknown-op';
    }
  }

  private memfd(name: string): number {
    const fd = this.memfds.get(name);
    if (fd === undefined) throw new Errno('EBADF');
    return fd;
  }

  private access(op: string, a: string[]): string {
    const p = this.proc;
    const addr = ARENA_BASE + parseNumber(a[0]);
    try {
      if (op === 'read') return `ok 0x${p.read8(addr).toString(16).padStart(2, '0')}`;
      if (op === 'write') p.write8(addr, parseNumber(a[1]) & 0xff);
      else p.fill(addr, parseNumber(a[1]), parseNumber(a[2]) & 0xff);
      return 'ok';
    } catch (e) {
      if (e instanceof SignalError) return `sig ${e.name} ${rel(e.addr)}`;
      throw e;
    }
  }

  private arenaVmas() {
    const out = [];
    for (const v of this.proc.mm.vmas.overlapping(ARENA_BASE, ARENA_BASE + this.arenaSize)) {
      if (v.start >= ARENA_BASE && v.end <= ARENA_BASE + this.arenaSize) out.push(v);
    }
    return out;
  }

  private maps(): string {
    let out = '';
    for (const v of this.arenaVmas()) {
      const s = vmaStats(this.proc.mm, v);
      const perms = permString(v.flags);
      const flags = VM_MNEMONICS.filter(([bit, n]) => v.flags & bit && KEPT_FLAGS.has(n)).map(([, n]) => n);
      out += `\n  ${rel(v.start)}-${rel(v.end)} ${perms} ${v.file ? 'file' : 'anon'} rss=${s.rss / 1024} anon=${s.anonymous / 1024} thp=${s.anonHuge / 1024} flags=${flags.length ? flags.join(',') : '-'}`;
    }
    return out;
  }
}

/** Run a scenario's text on a fresh simulated process and return the runner-format output. */
export function runScenario(source: string, opts: ScenarioOptions = {}): string {
  return new ScenarioRunner(opts).run(source);
}
