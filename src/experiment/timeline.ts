// Simulated time for threads: each thread has a clock and runs on a simulated CPU; the work the
// kernel did for one of its calls (counted by the mm) advances that clock by the cost model;
// mmap_lock is a reader-writer semaphore (a writer waits for the holders to drain, readers wait
// for a writer); a TLB shootdown makes the flushing thread wait for acknowledgements and charges
// every thread on another CPU for its IPI. Threads also pay a little for each other's lock and
// fault traffic. Constants: cost-model.ts.
import type { Mm } from '../mm/mm.js';
import type { Process } from '../mm/process.js';
import { callNs, callsNs, type Costs, DEFAULT_COSTS, faultPrices, type UnitWork, unitWork, unitWorkNs } from './cost-model.js';
import { syscallName, syscallNr } from '../mm/syscall-nr.js';
import { totalFaults, weightedFaults } from '../mm/fault-kinds.js';

const NR_MADVISE = syscallNr('madvise');

export interface LockWaitNs {
  mmapLockRead: number;
  mmapLockWrite: number;
  vmaLock: number;
}

/** The counters the timeline follows, read from the mm after each call. */
interface Totals {
  work: number;
  write: number;
  read: number;
  vma: number;
  flushes: number;
  ipis: number;
  faults: number;
  madvise: number;
}

function zeroTotals(): Totals {
  return { work: 0, write: 0, read: 0, vma: 0, flushes: 0, ipis: 0, faults: 0, madvise: 0 };
}

/** Whether a thread starting at `start` finds a lock held over [from, until). */
function held(start: number, from: number, until: number): boolean {
  return start >= from && start < until;
}

export class Timeline {
  readonly clock: Float64Array;
  private readonly cpuFree: Float64Array;
  /** VMA ranges the last writer write-locked (held until it let go of mmap_lock). */
  private lockedVmas: number[] = [];
  /** When the last writer took mmap_lock and when it let go; the same span for readers. */
  private writeFrom = 0;
  private writeFreeAt = 0;
  private readFrom = 0;
  private readFreeAt = 0;
  readonly lockWaitNs: LockWaitNs = { mmapLockRead: 0, mmapLockWrite: 0, vmaLock: 0 };
  /** Time threads lost to TLB shootdowns: waiting for acknowledgements, and taking IPIs. */
  shootdownNs = 0;
  /** Lock wait per thread. */
  readonly waitByThread: Float64Array;
  private last: Totals;
  /** A second record of counters, and the differences, reused by every charge. */
  private spare = zeroTotals();
  private readonly delta = zeroTotals();
  /** Per-thread overrides of a page fault's cost (the contention experiment's victim). */
  faultNsOverride: (number | undefined)[] = [];

  private readonly mm: Mm;

  constructor(
    proc: Process,
    readonly threads: number,
    readonly cpus: number,
    private readonly costs: Costs = DEFAULT_COSTS,
  ) {
    const mm = (this.mm = proc.mm);
    this.clock = new Float64Array(threads);
    this.waitByThread = new Float64Array(threads);
    this.cpuFree = new Float64Array(cpus);
    proc.setThreads(threads, cpus);
    this.alone = threads === 1;
    this.callsNs = callsNs(mm.syscalls, costs);
    this.faultPrices = faultPrices(costs);
    this.last = this.totals(zeroTotals());
    // what the kernel's tracepoints say between two charges: calls made, and with more than one
    // thread the VMAs written and addresses faulted (one thread never finds a lock still held: it
    // starts each call after its last one ended; its calls are priced from the counts: settle())
    this.unsubscribe = this.alone ? [] : [mm.trace.on('sys_enter', (nr, n) => (this.callsNs += this.callPrice(nr) * n))];
    if (threads > 1) {
      this.unsubscribe.push(
        mm.trace.on('vma_write', (s, e) => this.written.push(s, e)),
        mm.trace.on('page_fault', (a) => this.faulted.push(a)),
      );
    }
  }

  /** Each call's price by its number (syscall-nr.ts), looked up by name on its first use. */
  private readonly callPrices: number[] = [];

  private callPrice(nr: number): number {
    let ns = this.callPrices[nr];
    if (ns === undefined) {
      for (let i = this.callPrices.length; i < nr; i++) this.callPrices[i] = callNs(syscallName(i), this.costs);
      ns = this.callPrices[nr] = callNs(syscallName(nr), this.costs);
    }
    return ns;
  }

  /** The per-unit counters of the last pricing (reused). */
  private readonly units: UnitWork = { pagesZapped: 0, tlbFlushes: 0, pteTablesAllocated: 0, pteTablesFreed: 0, firstTouches: 0, ptesMoved: 0 };

  /** The price of the calls counted so far: summed once at the start, then from sys_enter. */
  private callsNs = 0;
  /** Faults counted at the last pricing of faults, and their price. */
  private faultCount = -1;
  private faultsNs = 0;
  private readonly faultPrices: Float64Array;

  /** The counters now (into `into`, so a charge allocates nothing). */
  private totals(into: Totals): Totals {
    const mm = this.mm;
    if (this.alone) this.callsNs = callsNs(mm.syscalls, this.costs);
    const faults = totalFaults(mm.faults);
    // counts only grow: an unchanged total means every kind is unchanged
    if (faults !== this.faultCount) {
      this.faultCount = faults;
      this.faultsNs = weightedFaults(mm.faults, this.faultPrices);
    }
    into.work = this.callsNs + this.faultsNs + unitWorkNs(unitWork(mm, this.units), this.costs);
    into.write = mm.lock.total.write;
    into.read = mm.lock.total.read;
    into.vma = mm.lock.total.vma;
    into.flushes = mm.tlb.flushes;
    into.ipis = mm.tlb.ipis;
    into.faults = faults;
    into.madvise = mm.syscallCountOf(NR_MADVISE);
    return into;
  }

  /**
   * Whether the kernel did anything since the last charge: a call counted, a fault (every fault
   * takes mmap_lock or a VMA lock) or a first touch; most calls of a malloc do none of these.
   */
  private activity(): number {
    const l = this.mm.lock.total;
    return this.mm.syscallCount + l.write + l.read + l.vma + this.mm.firstTouches;
  }

  private lastActivity = -1;

  /** Charge thread tid for everything the kernel did since the last charge, plus userNs of its own work. */
  charge(tid: number, userNs = 0): void {
    if (this.alone) {
      this.pendingNs += userNs;
      return;
    }
    const activity = this.activity();
    const cpu = tid % this.cpus;
    if (activity === this.lastActivity) {
      // the kernel did nothing: the thread only runs its own userNs (no lock, no tax on others)
      const end = Math.max(this.clock[tid], this.cpuFree[cpu]) + userNs;
      this.busyNs += userNs;
      this.clock[tid] = end;
      this.cpuFree[cpu] = end;
      return;
    }
    const d = this.advance(activity);
    let cost = this.ownCost(tid, userNs, d);
    const c = this.costs.thread;
    const remoteFlushes = d.ipis > 0 ? d.flushes : 0;
    cost += remoteFlushes * c.ipiSendWaitNs;
    this.shootdownNs += remoteFlushes * c.ipiSendWaitNs;
    // when the thread can start: its CPU, then mmap_lock
    let start = Math.max(this.clock[tid], this.cpuFree[cpu]);
    // Calls run in the workload's order while the threads' clocks drift apart, so a holder only
    // delays a thread whose time falls inside the span it held the lock (held()).
    const faulted = this.faulted;
    const written = this.written;
    // a fault on a VMA a writer has locked falls back to mmap_lock and waits for the writer
    if (!d.write && faulted.length && held(start, this.writeFrom, this.writeFreeAt) && this.lockedVmas.length) {
      const hit = faulted.some((a) => {
        for (let i = 0; i < this.lockedVmas.length; i += 2) if (a >= this.lockedVmas[i] && a < this.lockedVmas[i + 1]) return true;
        return false;
      });
      if (hit) {
        this.lockWaitNs.vmaLock += this.writeFreeAt - start;
        start = this.writeFreeAt;
      }
    }
    if (d.write) {
      // the VMAs this writer locked: the list gathered since the last charge is kept, and the
      // old locked list becomes the next one to gather into
      const old = this.lockedVmas;
      this.lockedVmas = written;
      this.written = old;
      let free = start;
      if (held(start, this.writeFrom, this.writeFreeAt)) free = Math.max(free, this.writeFreeAt);
      if (held(start, this.readFrom, this.readFreeAt)) free = Math.max(free, this.readFreeAt);
      this.lockWaitNs.mmapLockWrite += free - start;
      start = free;
      this.writeFrom = start;
      this.writeFreeAt = start + cost;
    } else if (d.read) {
      if (held(start, this.writeFrom, this.writeFreeAt)) {
        this.lockWaitNs.mmapLockRead += this.writeFreeAt - start;
        start = this.writeFreeAt;
      }
      if (start >= this.readFreeAt) this.readFrom = start;
      this.readFreeAt = Math.max(this.readFreeAt, start + cost);
    }
    if (faulted.length) faulted.length = 0;
    if (this.written.length) this.written.length = 0;
    const end = start + cost;
    this.busyNs += cost;
    this.waitByThread[tid] += Math.max(0, start - Math.max(this.clock[tid], this.cpuFree[cpu]));
    this.clock[tid] = end;
    this.cpuFree[cpu] = end;
    // what the others pay: IPIs on other CPUs, and cache-line traffic
    const tax = (d.write + d.read) * c.lockBounceNs + d.faults * c.faultTaxNs + d.madvise * c.madviseTaxNs;
    const ipi = remoteFlushes * c.ipiReceiveNs;
    if (tax || ipi) {
      for (let t = 0; t < this.threads; t++) {
        if (t === tid || this.finished[t]) continue;
        const hit = t % this.cpus !== cpu ? ipi : 0;
        this.clock[t] += tax + hit;
        this.shootdownNs += hit;
      }
    }
  }

  /** The counters' changes since the last charge (into `delta`); the counters now become the last ones. */
  private advance(activity: number): Totals {
    // the counters now go in the spare record, which then becomes the last one
    const last = this.last;
    const now = this.totals(this.spare);
    this.lastActivity = activity;
    const d = this.delta;
    d.work = now.work - last.work;
    d.write = now.write - last.write;
    d.read = now.read - last.read;
    d.flushes = now.flushes - last.flushes;
    d.ipis = now.ipis - last.ipis;
    d.faults = now.faults - last.faults;
    d.madvise = now.madvise - last.madvise;
    this.spare = last;
    this.last = now;
    return d;
  }

  /** A call's cost to the thread that made it, before locks and IPIs: its own time and the kernel's work. */
  private ownCost(tid: number, userNs: number, d: Totals): number {
    let cost = userNs + d.work;
    const faultOverride = this.faultNsOverride[tid];
    if (faultOverride !== undefined && d.faults) cost += d.faults * (faultOverride - this.costs.faultNs.anon);
    return cost;
  }

  /** Thread time the calls took, all threads together (waits aside): a one-at-a-time replay's time. */
  busyNs = 0;

  private written: number[] = [];
  private readonly faulted: number[] = [];
  private readonly unsubscribe: (() => void)[];

  /**
   * One thread never finds a lock held, sends no IPI and taxes no other thread: its clock is the
   * sum of what it was charged, and the kernel's work, a sum of counts, is priced once for all the
   * calls since the last settle() rather than call by call (the same total; the Timeline's own
   * overhead was ~70 ns an event on a syscall-heavy replay). Its clock is up to date after
   * settle(), close() or makespan.
   */
  private readonly alone: boolean;
  /** The user time charged to the one thread since the last settle(). */
  private pendingNs = 0;

  settle(): void {
    if (!this.alone) return;
    const d = this.advance(this.activity());
    const cost = this.ownCost(0, this.pendingNs, d);
    this.pendingNs = 0;
    const end = Math.max(this.clock[0], this.cpuFree[0]) + cost;
    this.busyNs += cost;
    this.clock[0] = end;
    this.cpuFree[0] = end;
  }

  /** Stop listening to the kernel's tracepoints (and bring a lone thread's clock up to date). */
  close(): void {
    this.settle();
    for (const u of this.unsubscribe) u();
  }

  /** Threads that have no more work (they no longer pay for others). */
  readonly finished: boolean[] = [];

  /** When the last thread finishes. */
  get makespan(): number {
    this.settle();
    let m = 0;
    for (const c of this.clock) m = Math.max(m, c);
    return Math.round(m);
  }
}
