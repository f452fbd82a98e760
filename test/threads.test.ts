// Threads, CPUs and TLB shootdowns: the flush rules, the timeline's lock semantics, the
// contention experiment against Linux 6.18's table, and multi-threaded runs' contract fields.
import { describe, expect, it } from 'vitest';
import { CONTENTION_MODES, contentionTable, REAL_CONTENTION } from '../src/experiment/contention.js';
import { runOne } from '../src/experiment/run.js';
import { Timeline } from '../src/experiment/timeline.js';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { BASE, FIXED, RW } from './helpers/layout.js';

const P = 4096;

describe('TLB shootdowns', () => {
  it('flush once per operation that removed present entries, fully above 33 pages, with an IPI per other CPU', () => {
    const p = new Process();
    p.mm.tlb.cpusActive = 3;
    p.mmap(BASE, 64 * P, RW, FIXED);
    p.madvise(BASE, 64 * P, U.MADV_DONTNEED); // nothing present: nothing to flush
    expect(p.mm.tlb.flushes).toBe(0);
    p.fill(BASE, 64 * P, 1);
    expect(p.mm.tlb.flushes).toBe(0); // faults on empty PTEs flush nothing
    p.madvise(BASE, 2 * P, U.MADV_DONTNEED);
    expect([p.mm.tlb.flushes, p.mm.tlb.fullFlushes, p.mm.tlb.ipis]).toEqual([1, 0, 2]);
    p.munmap(BASE, 64 * P);
    expect([p.mm.tlb.flushes, p.mm.tlb.fullFlushes, p.mm.tlb.ipis]).toEqual([2, 1, 4]);
  });

  it('flush for mprotect that takes rights from present pages, and for a COW of the zero page', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    p.mprotect(BASE, 4 * P, U.PROT_READ); // nothing present
    p.mprotect(BASE, 4 * P, RW); // adding rights never flushes
    expect(p.mm.tlb.flushes).toBe(0);
    p.read8(BASE);
    p.write8(BASE, 1); // the zero page's entry is replaced
    expect(p.mm.tlb.flushes).toBe(1);
    p.mprotect(BASE, 4 * P, U.PROT_READ);
    expect(p.mm.tlb.flushes).toBe(2);
  });
});

describe('Timeline', () => {
  it('makes a writer wait for mmap_lock held by another thread and keeps per-VMA faults apart', () => {
    const p = new Process();
    const tl = new Timeline(p, 2, 2);
    p.mmap(BASE, 16 * P, RW, FIXED); // thread 0 takes mmap_lock for writing
    tl.charge(0);
    p.mmap(BASE + 32 * P, 16 * P, RW, FIXED); // thread 1 must wait for it
    tl.charge(1);
    expect(tl.lockWaitNs.mmapLockWrite).toBeGreaterThan(0);
    expect(tl.clock[1]).toBeGreaterThan(tl.clock[0]);
  });

  it('prices one thread once at the end exactly as call by call: the same clock as a lone thread among idle ones', () => {
    const calls = (p: Process, tl: Timeline) => {
      for (let i = 0; i < 40; i++) {
        const a = p.mmap(0, (1 + (i % 5)) * P, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
        tl.charge(0, 50);
        p.fill(a, (1 + (i % 5)) * P - 9, 1);
        tl.charge(0, 7);
        if (i % 3) p.munmap(a, P);
        tl.charge(0);
      }
    };
    const one = new Process();
    const alone = new Timeline(one, 1, 1);
    calls(one, alone);
    const two = new Process();
    const pair = new Timeline(two, 2, 1); // on one CPU: no IPIs
    pair.finished[1] = true; // the other thread does nothing and pays nothing
    calls(two, pair);
    expect(alone.clock[0]).toBe(0); // nothing priced yet: the lone thread is settled at the end
    alone.close();
    pair.close();
    expect(alone.makespan).toBeGreaterThan(40 * 57);
    expect(alone.makespan).toBe(pair.makespan);
    expect(Math.round(alone.busyNs)).toBe(Math.round(pair.busyNs));
  });
});

describe('contention experiment', () => {
  it('reproduces every mode of contention.md within 25%', () => {
    const rows = contentionTable(CONTENTION_MODES, 8000);
    for (const r of rows) {
      const real = REAL_CONTENTION[r.mode].slowdown;
      expect(Math.abs(r.slowdown / real - 1), `${r.mode}: ${r.slowdown} vs ${real}`).toBeLessThan(0.25);
    }
  });
});

describe('multi-threaded runs', () => {
  it('report threads, cpus, lock waits, flushes and IPIs, and take the longest thread as simulated time', () => {
    const w = WORKLOADS.churn.make({ seed: 4, events: 8000 });
    const one = runOne(w, 'glibc', { threads: 1 });
    const four = runOne(w, 'glibc', { threads: 4, cpus: 4 });
    expect([four.threads, four.cpus]).toEqual([4, 4]);
    expect(four).toHaveProperty('lockWaitNs.mmapLockWrite');
    expect(four.simulatedNs).toBeLessThan(one.simulatedNs); // four threads share the work
    const uffd = runOne(w, 'uffd', { threads: 4, cpus: 64 });
    expect(uffd.cpus).toBe(64);
    expect(uffd.tlbIpis).toBe(uffd.tlbFlushes * 3);
  });
});

describe('per-VMA locks', () => {
  it('a fault on a VMA another thread is modifying waits for that writer; elsewhere it does not', () => {
    const p = new Process();
    p.mmap(BASE, 64 * P, RW, FIXED);
    p.mmap(BASE + 0x1000000, 64 * P, RW, FIXED);
    const tl = new Timeline(p, 3, 3);
    p.mprotect(BASE, 4 * P, U.PROT_READ); // thread 0 splits the first VMA under mmap_lock
    tl.charge(0);
    p.write8(BASE + 0x1000000, 1); // thread 1 faults in the other VMA: per-VMA lock, no wait
    tl.charge(1);
    expect(tl.lockWaitNs.vmaLock).toBe(0);
    p.write8(BASE + 8 * P, 1); // thread 2 faults in the VMA being modified: falls back and waits
    tl.charge(2);
    expect(tl.lockWaitNs.vmaLock).toBeGreaterThan(0);
  });
});
