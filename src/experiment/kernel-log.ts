// The log of a verify run: every kernel operation and every write to memory a program makes
// through a Process, as lines of the scenario language translated into the recorder's arena, with
// the event each line belongs to and which store lines made the simulator do kernel work.
import type { Process } from '../mm/process.js';
import { totalFaults } from '../mm/fault-kinds.js';
import { MMAP_BASE, START_BRK } from '../mm/mm.js';
import { hex, MAP_FIXED, MAP_NORESERVE, MAP_POPULATE, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/uapi.js';
import { UFFD_FEATURES, UFFDIO_REGISTER_MODE_MINOR, UFFDIO_REGISTER_MODE_MISSING, UFFDIO_REGISTER_MODE_WP, UFFDIO_ZEROPAGE_MODE_DONTWAKE, UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES } from '../mm/userfaultfd/uapi.js';

/** Stores each overhead probe repeats (the run's last ones). */
export const OVERHEAD_PROBES = 2000;

export const GiB = 2 ** 30;
/** The arena: brk addresses in its first 16 GiB, the mmap area (top-down from MMAP_BASE) above. */
export const BRK_SPAN = 16 * GiB;
const MMAP_SPAN = 111 * GiB;
export const VERIFY_ARENA_GB = 128;
const BRK_BASE = Math.floor(START_BRK / GiB) * GiB;
const MMAP_LOW = Math.floor((MMAP_BASE - MMAP_SPAN) / GiB) * GiB;

export class Unverifiable extends Error {}

/** A simulated address as an offset into the verify arena (alignment within 1 GiB kept). */
export function arenaOffset(addr: number): number {
  if (addr >= BRK_BASE && addr < BRK_BASE + BRK_SPAN) return addr - BRK_BASE;
  if (addr >= MMAP_LOW && addr < MMAP_BASE + GiB) return BRK_SPAN + addr - MMAP_LOW;
  throw new Unverifiable(`address 0x${addr.toString(16)} lies outside the verify arena`);
}

const off = (a: number) => hex(arenaOffset(a));
function prot(p: number): string {
  const s = (p & PROT_READ ? 'r' : '') + (p & PROT_WRITE ? 'w' : '') + (p & PROT_EXEC ? 'x' : '');
  return s || 'none';
}

/** The calls whose log lines are stores; the user-mode copies (read, write, copy) are stores too. */
const STORES = new Set(['fill', 'write8', 'read8']);

/** The log: scenario lines, and for each line the event it belongs to. */
export class KernelLog {
  readonly lines: string[] = [];
  readonly eventOf: number[] = [];
  event = -1;
  private brkTop = 0;
  /** Where the last OVERHEAD_PROBES stores began, oldest first from storesSeen (a ring). */
  private readonly recentStores = new Float64Array(OVERHEAD_PROBES);
  private storesSeen = 0;

  /** Per line: 1 where a store (fill, write, read) made the simulator do kernel work (a fault, a first touch). */
  private work = new Uint8Array(1 << 16);

  /** Whether line k is a store in which the simulator did kernel work. */
  didWork(k: number): boolean {
    return k < this.work.length && this.work[k] === 1;
  }

  private markWork(from: number, to: number): void {
    if (to > this.work.length) {
      const grown = new Uint8Array(Math.max(to, 2 * this.work.length));
      grown.set(this.work);
      this.work = grown;
    }
    this.work.fill(1, from, to);
  }

  /** A store of len bytes of one value at addr (memset), as a `fill` line; nothing for none. */
  private addStore(addr: number, len: number, byte: number): void {
    if (len <= 0) return;
    this.add(`fill ${off(addr)} ${hex(len)} ${byte & 0xff}`);
    this.noteStore(addr);
  }

  /** Loads of [start, start + len): a `read` line for each page touched. */
  private addLoads(start: number, len: number): void {
    for (let p = Math.floor(start / PAGE_SIZE) * PAGE_SIZE; p < start + len; p += PAGE_SIZE) this.add(`read ${off(Math.max(p, start))}`);
  }

  private noteStore(addr: number): void {
    this.recentStores[this.storesSeen++ % OVERHEAD_PROBES] = addr;
  }

  /** The addresses of the last stores, oldest first. */
  lastStores(): number[] {
    const n = Math.min(this.storesSeen, OVERHEAD_PROBES);
    return Array.from({ length: n }, (_, k) => this.recentStores[(this.storesSeen - n + k) % OVERHEAD_PROBES]);
  }

  add(line: string): void {
    this.lines.push(line);
    this.eventOf.push(this.event);
  }

  /** Wrap a process so that what a program does to the kernel through it is logged. */
  wrap(proc: Process): Process {
    const log = this;
    this.brkTop = proc.mm.brk;
    const brkMoved = () => {
      const top = Math.ceil(proc.mm.brk / PAGE_SIZE) * PAGE_SIZE;
      const old = Math.ceil(log.brkTop / PAGE_SIZE) * PAGE_SIZE;
      // brk is replayed as mmap/munmap of the heap's top, in the arena
      if (top > old) log.add(`mmap ${off(old)} ${hex(top - old)} rw`);
      else if (top < old) log.add(`munmap ${off(top)} ${hex(old - top)}`);
      log.brkTop = proc.mm.brk;
    };
    const handlers: Record<string, (f: (...a: never[]) => unknown, args: number[]) => unknown> = {
      mmap: (f, [addr, len, p, flags, fd]) => {
        if (fd !== undefined && fd >= 0) throw new Unverifiable('file mappings are not logged');
        let r: number;
        const words = `${flags & MAP_SHARED ? ' shared' : ''}${flags & MAP_NORESERVE ? ' noreserve' : ''}${flags & MAP_POPULATE ? ' populate' : ''}${flags & MAP_FIXED ? ' fixed' : ''}`;
        try {
          r = f(...([addr, len, p, flags, fd] as never[])) as number;
        } catch (e) {
          log.add(`mmap ${addr ? off(addr) : hex(BRK_SPAN)} ${hex(len)} ${prot(p)}${words}`);
          throw e;
        }
        log.add(`mmap ${off(r)} ${hex(len)} ${prot(p)}${words}`);
        return r;
      },
      munmap: (f, [a, len]) => (log.add(`munmap ${off(a)} ${hex(len)}`), f(...([a, len] as never[]))),
      mprotect: (f, [a, len, p]) => (log.add(`mprotect ${off(a)} ${hex(len)} ${prot(p)}`), f(...([a, len, p] as never[]))),
      madvise: (f, [a, len, adv]) => (log.add(`madvise ${off(a)} ${hex(len)} ${adv}`), f(...([a, len, adv] as never[]))),
      mremap: (f, [a, oldLen, newLen, flags = 0, newAddr = 0]) => {
        let r: number;
        const base = `mremap ${off(a)} ${hex(oldLen)} ${hex(newLen)}${flags & MREMAP_MAYMOVE ? ' maymove' : ''}${flags & MREMAP_DONTUNMAP ? ' dontunmap' : ''}`;
        try {
          r = f(...([a, oldLen, newLen, flags, newAddr] as never[])) as number;
        } catch (e) {
          log.add(base + (flags & MREMAP_FIXED ? ` fixed ${off(newAddr)}` : ''));
          throw e;
        }
        // where the simulator moved it, the live kernel is told to move it too
        log.add(base + (flags & MREMAP_FIXED || r !== a ? ` fixed ${off(r)}` : ''));
        return r;
      },
      brk: (f, args) => {
        const r = f(...(args as never[]));
        brkMoved();
        return r;
      },
      sbrk: (f, args) => {
        try {
          return f(...(args as never[]));
        } finally {
          brkMoved();
        }
      },
      uffdApi: (f, [fd, features = 0, api]) => {
        const names = Object.entries(UFFD_FEATURES).filter(([, bit]) => features & bit).map(([n]) => n);
        log.add(`uffd ${names.join(' ')}`.trim());
        return f(...([fd, features, api] as never[]));
      },
      uffdRegister: (f, [fd, start, len, mode]) => {
        const modes = [mode & UFFDIO_REGISTER_MODE_MISSING && 'missing', mode & UFFDIO_REGISTER_MODE_WP && 'wp', mode & UFFDIO_REGISTER_MODE_MINOR && 'minor'].filter(Boolean).join(' ');
        log.add(`uffd_register ${off(start)} ${hex(len)} ${modes || 0}`);
        return f(...([fd, start, len, mode] as never[]));
      },
      uffdUnregister: (f, [fd, start, len]) => (log.add(`uffd_unregister ${off(start)} ${hex(len)}`), f(...([fd, start, len] as never[]))),
      uffdZeropage: (f, [fd, start, len, mode = 0]) => {
        if (mode & UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT) throw new Unverifiable('the allocator uses the proposed huge-zero-page extension of UFFDIO_ZEROPAGE, which no real kernel has');
        log.add(`uffd_zeropage ${off(start)} ${hex(len)}${mode & UFFDIO_ZEROPAGE_MODE_DONTWAKE ? ' dontwake' : ''}`);
        return f(...([fd, start, len, mode] as never[]));
      },
      uffdCopy: (f, [fd, dst, src, len, mode = 0]) => {
        if (len > 2 << 20) throw new Unverifiable('UFFDIO_COPY of more than the recorder\'s 2 MiB buffer');
        log.add(`uffd_copy ${off(dst)} ${hex(len)} ${proc.read(src, 1)[0]}${mode ? ' wp' : ''}`);
        return f(...([fd, dst, src, len, mode] as never[]));
      },
      uffdMove: (f, [fd, dst, src, len, mode = 0]) => {
        log.add(`uffd_move ${off(dst)} ${off(src)} ${hex(len)}${mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ? ' allow_src_holes' : ''}`);
        return f(...([fd, dst, src, len, mode] as never[]));
      },
      uffdMonitor: () => {
        throw new Unverifiable('a userfaultfd monitor thread is not replayed by the recorder');
      },
      fill: (f, [a, len, byte]) => (log.addStore(a, len, byte), f(...([a, len, byte] as never[]))),
      write8: (f, [a, byte]) => (log.add(`write ${off(a)} ${byte & 0xff}`), f(...([a, byte] as never[]))),
      read8: (f, [a]) => (log.add(`read ${off(a)}`), f(...([a] as never[]))),
    };
    // user-mode copies: a read touches each page, a write stores its first byte's value over its
    // range, a memcpy does both (the destination stored with the source's first byte)
    const copies: Record<string, (f: (...a: never[]) => unknown, args: unknown[]) => unknown> = {
      read: (f, [a, len]) => (log.addLoads(a as number, len as number), f(...([a, len] as never[]))),
      write: (f, [a, data]) => {
        const d = data as Uint8Array | number[];
        log.addStore(a as number, d.length, d[0]);
        return f(...([a, data] as never[]));
      },
      copy: (f, [dst, src, len]) => {
        const n = len as number;
        if (n > 0) {
          const byte = proc.read8(src as number);
          log.addLoads(src as number, n);
          log.addStore(dst as number, n, byte);
        }
        return f(...([dst, src, len] as never[]));
      },
    };
    // the stores in which the simulator did kernel work (verify-timing.ts counts the rest as user time)
    const work = () => totalFaults(proc.mm.faults) + proc.mm.firstTouches;
    const stores = (call: () => unknown) => {
      const from = log.lines.length;
      const before = work();
      try {
        return call();
      } finally {
        if (work() !== before) log.markWork(from, log.lines.length);
      }
    };
    return new Proxy(proc, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver);
        if (typeof v !== 'function' || typeof name !== 'string') return v;
        const h = handlers[name];
        const c = copies[name];
        const bound = v.bind(target) as (...a: never[]) => unknown;
        if (h) return STORES.has(name) ? (...args: number[]) => stores(() => h(bound, args)) : (...args: number[]) => h(bound, args);
        if (c) return (...args: unknown[]) => stores(() => c(bound, args));
        return bound;
      },
    });
  }
}
