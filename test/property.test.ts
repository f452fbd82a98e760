// Random syscall sequences against a page-level reference model: after every step the mm's
// invariants hold (no overlapping VMAs, page tables only inside VMAs, RSS equal to mapped
// frames, refcounts positive) and every page holds exactly the bytes the model says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZERO_PFN } from '../src/mm/frames.js';
import { HUGE_ZERO, PTE_GUARD } from '../src/mm/page-table.js';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';

const P = 4096;
const PAGES = 1024; // a 4 MiB window: two THP blocks
const BASE = 0x40000000;

interface PageModel {
  mapped: boolean;
  writable: boolean;
  guard: boolean;
  byte: number;
}

type Op =
  | { k: 'mmap'; page: number; n: number; prot: number }
  | { k: 'munmap'; page: number; n: number }
  | { k: 'mprotect'; page: number; n: number; prot: number }
  | { k: 'dontneed'; page: number; n: number }
  | { k: 'free'; page: number; n: number }
  | { k: 'fill'; page: number; byte: number }
  | { k: 'move'; page: number; n: number; to: number }
  | { k: 'guard'; page: number; n: number; install: boolean }
  | { k: 'huge'; page: number; n: number; on: boolean }
  | { k: 'collapse'; page: number; n: number }
  | { k: 'khugepaged' };

// pages cluster in a few hot spots (the start, a THP boundary, the end) so operations overlap
const page = fc.oneof(
  fc.integer({ min: 0, max: 15 }),
  fc.integer({ min: 505, max: 520 }),
  fc.integer({ min: PAGES - 12, max: PAGES - 1 }),
  fc.integer({ min: 0, max: PAGES - 1 }),
);
const len = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constantFrom(512, 513));
const prot = fc.constantFrom(U.PROT_NONE, U.PROT_READ, U.PROT_READ | U.PROT_WRITE);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('mmap' as const), page, n: len, prot }),
  fc.record({ k: fc.constant('munmap' as const), page, n: len }),
  fc.record({ k: fc.constant('mprotect' as const), page, n: len, prot }),
  fc.record({ k: fc.constant('dontneed' as const), page, n: len }),
  fc.record({ k: fc.constant('free' as const), page, n: len }),
  fc.record({ k: fc.constant('fill' as const), page, byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constant('fill' as const), page, byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constant('move' as const), page, n: len, to: page }),
  fc.record({ k: fc.constant('guard' as const), page, n: fc.integer({ min: 1, max: 4 }), install: fc.boolean() }),
  fc.record({ k: fc.constant('huge' as const), page, n: len, on: fc.boolean() }),
  fc.record({ k: fc.constant('collapse' as const), page: fc.constantFrom(0, 512), n: fc.constant(512) }),
  fc.constant({ k: 'khugepaged' as const }),
);

function clip(p: number, n: number): [number, number] {
  return [p, Math.min(PAGES, p + n)];
}

function apply(proc: Process, model: PageModel[], o: Op): void {
  const addr = (pg: number) => BASE + pg * P;
  if (o.k === 'khugepaged') {
    proc.khugepaged();
    return;
  }
  if (o.k === 'fill') {
    const m = model[o.page];
    try {
      proc.fill(addr(o.page), P, o.byte);
      expect(m.mapped && m.writable && !m.guard).toBe(true);
      m.byte = o.byte;
    } catch (e) {
      expect(e).toBeInstanceOf(U.SignalError);
      expect(m.mapped && m.writable && !m.guard).toBe(false);
    }
    return;
  }
  const [s, e] = clip(o.page, o.n);
  const n = e - s;
  const before = model.map((m) => ({ ...m }));
  try {
    switch (o.k) {
      case 'mmap':
        proc.mmap(addr(s), n * P, o.prot, U.MAP_FIXED | U.MAP_PRIVATE | U.MAP_ANONYMOUS);
        for (let i = s; i < e; i++) model[i] = { mapped: true, writable: (o.prot & U.PROT_WRITE) !== 0, guard: false, byte: 0 };
        return;
      case 'munmap':
        proc.munmap(addr(s), n * P);
        for (let i = s; i < e; i++) model[i] = { mapped: false, writable: false, guard: false, byte: 0 };
        return;
      case 'mprotect': {
        // Linux applies mprotect up to the first hole, then fails with ENOMEM
        let i = s;
        for (; i < e && model[i].mapped; i++) model[i].writable = (o.prot & U.PROT_WRITE) !== 0;
        proc.mprotect(addr(s), n * P, o.prot);
        return;
      }
      case 'dontneed':
      case 'free':
      case 'guard':
        for (let i = s; i < e; i++) {
          if (!model[i].mapped) continue;
          if (o.k === 'dontneed' && !model[i].guard) model[i].byte = 0;
          if (o.k === 'guard') model[i] = { ...model[i], guard: o.install, byte: 0 };
        }
        if (o.k === 'guard' && o.install) for (let i = s; i < e; i++) if (model[i].mapped) model[i].byte = 0;
        if (o.k === 'guard' && !o.install) for (let i = s; i < e; i++) if (model[i].mapped && !before[i].guard) model[i].byte = before[i].byte;
        proc.madvise(addr(s), n * P, o.k === 'dontneed' ? U.MADV_DONTNEED : o.k === 'free' ? U.MADV_FREE : o.install ? U.MADV_GUARD_INSTALL : U.MADV_GUARD_REMOVE);
        return;
      case 'huge':
        proc.madvise(addr(s), n * P, o.on ? U.MADV_HUGEPAGE : U.MADV_NOHUGEPAGE);
        return;
      case 'collapse':
        proc.madvise(addr(s), n * P, U.MADV_COLLAPSE);
        return;
      case 'move': {
        const to = Math.min(o.to, PAGES - n);
        proc.mremap(addr(s), n * P, n * P, U.MREMAP_MAYMOVE | U.MREMAP_FIXED, addr(to));
        const moved = before.slice(s, e);
        for (let i = s; i < e; i++) model[i] = { mapped: false, writable: false, guard: false, byte: 0 };
        // each source VMA moves on its own: what lies opposite a gap of the source stays
        for (let i = 0; i < n; i++) if (moved[i].mapped) model[to + i] = { ...moved[i] };
        return;
      }
    }
  } catch (err) {
    if (!(err instanceof U.Errno)) throw err;
    // madvise and mprotect over holes change the mapped parts and then fail: keep those changes;
    // everything else must have changed nothing
    if (err.code === 'ENOMEM' && (o.k === 'mprotect' || o.k === 'dontneed' || o.k === 'free' || o.k === 'guard' || o.k === 'huge')) return;
    model.splice(0, model.length, ...before);
  }
}

/** The bytes of a page as the page tables hold them, without faulting anything in. */
function peek(proc: Process, a: number): { guard: boolean; bytes: Uint8Array | null } {
  const e = proc.mm.pt.pmd(a);
  if (e && e.huge !== 0) {
    if (e.huge === HUGE_ZERO) return { guard: false, bytes: null };
    return { guard: false, bytes: proc.kernel.frames.bytes(e.huge + ((a / P) & 511)) };
  }
  const v = proc.mm.pt.pte(a);
  if (v === PTE_GUARD) return { guard: true, bytes: null };
  if (v <= 0 || v === ZERO_PFN) return { guard: false, bytes: null };
  return { guard: false, bytes: proc.kernel.frames.bytes(v) };
}

function check(proc: Process, model: PageModel[]): void {
  proc.mm.checkInvariants();
  const wrong: string[] = [];
  for (let i = 0; i < PAGES && wrong.length < 4; i++) {
    const a = BASE + i * P;
    const m = model[i];
    if ((proc.mm.vmas.find(a) !== null) !== m.mapped) {
      wrong.push(`page ${i}: mapped should be ${m.mapped}`);
      continue;
    }
    if (!m.mapped) continue;
    const got = peek(proc, a);
    const first = got.bytes ? got.bytes[0] : 0;
    const last = got.bytes ? got.bytes[P - 1] : 0;
    if (got.guard !== m.guard) wrong.push(`page ${i}: guard should be ${m.guard}`);
    else if (first !== m.byte || last !== m.byte) wrong.push(`page ${i}: bytes ${first}/${last}, should be ${m.byte}`);
  }
  expect(wrong).toEqual([]);
}

describe('random syscall sequences', () => {
  it('keep the invariants and every byte', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40, size: 'max' }), (ops) => {
        const proc = new Process();
        const model: PageModel[] = Array.from({ length: PAGES }, () => ({ mapped: false, writable: false, guard: false, byte: 0 }));
        for (const o of ops) {
          apply(proc, model, o);
          check(proc, model);
        }
      }),
      { numRuns: 300 },
    );
  });
});
