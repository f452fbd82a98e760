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
