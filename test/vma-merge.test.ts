// Linux's VMA split/merge rules (mm/vma.c), drawn page by page as in tools/testing/vma.
import { describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import { Errno, MADV_HUGEPAGE, MAP_NORESERVE, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ } from '../src/mm/uapi.js';
import { BASE, draw, FIXED, RW } from './helpers/layout.js';

const P = 4096;

describe('merging a new mapping', () => {
  it('merges with both neighbours when the hole between them is filled', () => {
    const p = new Process();
    p.mmap(BASE, 2 * P, RW, FIXED);
    p.mmap(BASE + 3 * P, 2 * P, RW, FIXED);
    expect(draw(p, BASE, 6)).toBe('AA.BB.');
    p.mmap(BASE + 2 * P, P, RW, FIXED);
    expect(draw(p, BASE, 6)).toBe('AAAAA.');
    const v = p.mm.vmas.find(BASE)!;
    expect([v.start, v.end, v.pgoff]).toEqual([BASE, BASE + 5 * P, BASE / P]);
    expect(p.mm.mapCount).toBe(1);
  });

  it('does not merge different flags (MAP_NORESERVE drops VM_ACCOUNT)', () => {
    const p = new Process();
    p.mmap(BASE, P, RW, FIXED);
    p.mmap(BASE + P, P, RW, FIXED | MAP_NORESERVE);
    expect(draw(p, BASE, 2)).toBe('AB');
  });

  it('keeps anon_vmas apart: two VMAs that both have pages never merge', () => {
    const p = new Process();
    p.mmap(BASE, P, RW, FIXED);
    p.write8(BASE, 1);
    p.mmap(BASE + P, P, PROT_READ, FIXED);
    p.mprotect(BASE + P, P, RW);
    // the second VMA had no anon_vma: it merges, and shares the first one's anon_vma
    expect(draw(p, BASE, 2)).toBe('AA');
    p.munmap(BASE + P, P);
    p.mmap(BASE + 2 * P, P, PROT_READ, FIXED);
    p.mprotect(BASE + 2 * P, P, RW);
    p.write8(BASE + 2 * P, 2); // gets its own anon_vma: not adjacent to the first
    p.mmap(BASE + P, P, RW, FIXED);
    // A and C have different anon_vmas: the new middle merges with one side only
    expect(draw(p, BASE, 3)).toBe('AAB');
  });
});

describe('mremap and vm_pgoff', () => {
  it('a moved VMA with pages keeps its pgoff and does not merge with its new neighbour', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    p.write8(BASE, 1);
    p.mmap(BASE + 0x200000, 4 * P, RW, FIXED);
    p.write8(BASE + 0x200000, 2);
    p.mremap(BASE + 0x200000, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 4 * P);
    expect(draw(p, BASE, 8)).toBe('AAAABBBB');
    const moved = p.mm.vmas.find(BASE + 4 * P)!;
    expect(moved.pgoff).toBe((BASE + 0x200000) / P);
    expect(p.read8(BASE + 4 * P)).toBe(2);
  });

  it('a moved VMA without pages is born again at its new address and merges', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    p.write8(BASE, 1);
    p.mmap(BASE + 0x200000, 4 * P, RW, FIXED);
    p.mremap(BASE + 0x200000, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 4 * P);
    expect(draw(p, BASE, 8)).toBe('AAAAAAAA');
  });
});

describe('splitting for flag changes', () => {
  it('splits at both edges and merges back when the flags are equal again', () => {
    const p = new Process();
    p.mmap(BASE, 8 * P, RW, FIXED);
    p.madvise(BASE + 2 * P, 2 * P, MADV_HUGEPAGE);
    expect(draw(p, BASE, 8)).toBe('AABBCCCC');
    p.madvise(BASE, 2 * P, MADV_HUGEPAGE);
    expect(draw(p, BASE, 8)).toBe('AAAABBBB');
    p.madvise(BASE + 4 * P, 4 * P, MADV_HUGEPAGE);
    expect(draw(p, BASE, 8)).toBe('AAAAAAAA');
  });
});

describe('vm.max_map_count', () => {
  it('fails a split with ENOMEM at the limit and leaves the VMAs as they were', () => {
    const p = new Process({ settings: { maxMapCount: 3 } });
    p.mmap(BASE, 8 * P, RW, FIXED);
    p.mprotect(BASE + P, P, PROT_READ);
    expect(p.mm.mapCount).toBe(3);
    const before = draw(p, BASE, 8);
    expect(() => p.mprotect(BASE + 5 * P, P, PROT_READ)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => p.munmap(BASE + 5 * P, P)).toThrow(Errno);
    expect(draw(p, BASE, 8)).toBe(before);
    // unmapping a VMA's end needs no new VMA and is allowed at the limit
    p.munmap(BASE + 7 * P, P);
    expect(draw(p, BASE, 8)).toBe('ABCCCCC.');
  });

  it('lets mmap create one VMA past the limit, as do_mmap checks map_count > max', () => {
    const p = new Process({ settings: { maxMapCount: 2 } });
    p.mmap(BASE, P, RW, FIXED);
    p.mmap(BASE + 2 * P, P, RW, FIXED);
    p.mmap(BASE + 4 * P, P, RW, FIXED);
    expect(p.mm.mapCount).toBe(3);
    expect(() => p.mmap(BASE + 6 * P, P, RW, FIXED)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });
});

import { INDEX_FROM, INDEX_UNTIL } from '../src/mm/vma-tree.js';

describe('the VMA tree across its index thresholds', () => {
  it('finds every VMA and keeps its gaps while the range index is built and dropped', () => {
    const p = new Process({ settings: { maxMapCount: 1 << 20 } });
    const pages = INDEX_FROM + 600;
    const mapped = new Uint8Array(pages);
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    let [indexed, up, down, steps] = [false, 0, 0, 0];
    // pages of alternating protections never merge: one VMA each
    const toggle = (i: number, on: boolean) => {
      if (on) p.mmap(BASE + i * P, P, i % 2 ? RW : PROT_READ, FIXED);
      else p.munmap(BASE + i * P, P);
      mapped[i] = on ? 1 : 0;
      const count = p.mm.mapCount;
      if (!indexed && count >= INDEX_FROM) [indexed, up] = [true, up + 1];
      if (indexed && count < INDEX_UNTIL) [indexed, down] = [false, down + 1];
      if (++steps % 1009 === 0 || count === INDEX_FROM || count === INDEX_UNTIL - 1) p.mm.checkInvariants();
    };
    const order = (n: number) => {
      const o = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rand(i + 1);
        [o[i], o[j]] = [o[j], o[i]];
      }
      return o;
    };
    for (const i of order(pages)) toggle(i, true);
    for (let k = 0; k < 2000; k++) {
      const i = rand(pages);
      toggle(i, !mapped[i]);
    }
    // unmap until the index goes, then map everything again: VMAs that outlived the index are in the new one
    for (const i of order(pages)) if (indexed && mapped[i]) toggle(i, false);
    for (const i of order(pages)) if (!mapped[i]) toggle(i, true);
    p.munmap(BASE, (pages / 2) * P);
    mapped.fill(0, 0, pages / 2);
    p.mm.checkInvariants();
    // holes punched inside one large VMA while the index is kept (munmap's punchHole)
    expect(indexed).toBe(true);
    const big = BASE + pages * P + 64 * P;
    p.mmap(big, 256 * P, RW, FIXED);
    const bigMapped = new Uint8Array(256).fill(1);
    for (let k = 0; k < 60; k++) {
      const at = 1 + rand(250);
      const n = 1 + rand(3);
      p.munmap(big + at * P, n * P);
      bigMapped.fill(0, at, at + n);
      p.mm.checkInvariants();
    }
    for (let i = 0; i < 256; i++) if (!bigMapped[i]) expect(p.mm.vmas.find(big + i * P)).toBeNull();
    for (let i = 0; i < pages; i++) expect(p.mm.vmas.find(BASE + i * P + 7) !== null).toBe(mapped[i] === 1);
    expect([up, down]).toEqual([2, 1]);
  });
});

import { MMAP_MIN_ADDR, PMD_SIZE, TASK_SIZE } from '../src/mm/uapi.js';
import { PRIV_ANON } from './helpers/layout.js';

describe('get_unmapped_area among many holes', () => {
  /** unmapped_area_topdown written plainly: the highest fit below mmap_base, else below TASK_SIZE. */
  function highestFit(p: Process, len: number): number {
    const align = len % PMD_SIZE === 0 ? PMD_SIZE : P;
    for (const high of [p.mm.mmapBase, TASK_SIZE]) {
      let best = -1;
      let below = 0;
      for (const v of [...p.mm.vmas, null]) {
        const lo = Math.max(below, MMAP_MIN_ADDR);
        const hi = Math.min(v ? v.start : 2 ** 48, high);
        const a = Math.floor((hi - len) / align) * align;
        if (hi - lo >= len && a >= lo) best = a;
        if (v) below = v.end;
      }
      if (best >= 0) return best;
    }
    return -1;
  }

  it('places each mapping in the highest hole that fits, as a walk over every gap would', () => {
    const p = new Process({ settings: { maxMapCount: 1 << 20 } });
    const top = p.mm.mmapBase;
    let seed = 5;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    // a window of 3,000 pages under mmap_base: VMAs that never merge (alternating protections)
    // with holes of 0-40 pages between them, a few mappings above mmap_base, then mmaps of every size
    let at = top - 3000 * P;
    for (let k = 0; at < top - 64 * P; k++) {
      const n = 1 + rand(8);
      p.mmap(at, n * P, k % 2 ? RW : PROT_READ, FIXED);
      at += (n + (rand(3) === 0 ? rand(40) : 0)) * P;
    }
    p.mmap(top + 64 * P, 4 * P, RW, FIXED);
    p.mmap(top + 4096 * P, P, PROT_READ, FIXED);
    let placedLow = 0;
    for (let k = 0; k < 400; k++) {
      const len = [P, 3 * P, 17 * P, 39 * P, 64 * P, PMD_SIZE][rand(6)];
      const want = highestFit(p, len);
      const got = p.mmap(0, len, k % 2 ? RW : PROT_READ, PRIV_ANON);
      expect(got).toBe(want);
      if (got < top - 3000 * P) placedLow++;
      if (rand(3) === 0) p.munmap(got, len);
      if (rand(4) === 0) p.munmap(top - (1 + rand(2990)) * P, (1 + rand(5)) * P);
      if (k % 50 === 0) p.mm.checkInvariants();
    }
    // the holes filled: later mappings went below the window, past every VMA in it
    expect(placedLow).toBeGreaterThan(20);
  });
});
