// The single-VMA heap: one VMA for life, no mmap_lock writes, SIGBUS turned into use-after-free
// reports, mremap by page moves.
import { describe, expect, it } from 'vitest';
import { UffdHeap, UseAfterFreeError } from '../src/alloc/index.js';
import { Process } from '../src/mm/process.js';
import { MREMAP_FIXED, MREMAP_MAYMOVE } from '../src/mm/uapi.js';

const P = 4096;
const M2 = 2 * 1024 * 1024;

function setup(opts = {}) {
  const p = new Process();
  const heap = new UffdHeap(p, { size: 1 << 30, ...opts });
  const vmas = p.mm.mapCount;
  p.mm.lock.take();
  const writes = p.mm.lock.total.write;
  return { p, heap, vmas, writes };
}

describe('UffdHeap', () => {
  it('keeps one VMA and never takes mmap_lock for writing after setup', () => {
    const { p, heap, vmas, writes } = setup();
    expect(vmas).toBe(1);
    const addrs: number[] = [];
    for (let i = 1; i < 200; i++) addrs.push(heap.mmap((i % 17) * P + 1));
    for (const a of addrs.filter((_, i) => i % 3 === 0)) heap.munmap(a, P);
    const big = heap.mmap(3 * M2);
    p.fill(big, 3 * M2, 7);
    const moved = heap.mremap(big, 3 * M2, 5 * M2, MREMAP_MAYMOVE);
    heap.guard(moved + 5 * M2 - P, P);
    heap.munmap(moved, 5 * M2);
    expect(p.mm.mapCount).toBe(vmas);
    expect(p.mm.lock.total.write).toBe(writes);
    p.mm.checkInvariants();
  });

  it('places requests of 2 MiB and more on 2 MiB boundaries, smaller ones address-ordered', () => {
    const { heap } = setup();
    const a = heap.mmap(P);
    const b = heap.mmap(2 * P);
    expect(b).toBe(a + P);
    const c = heap.mmap(M2);
    expect(c % M2).toBe(0);
    heap.munmap(a, P);
    expect(heap.mmap(P)).toBe(a); // the lowest free range first
  });

  it('maps whole blocks with the huge zero page when the extension is on', () => {
    const off = setup();
    const on = setup({ hugeZeroPage: true });
    const a = off.heap.mmap(M2);
    const b = on.heap.mmap(M2);
    expect(off.p.mm.pt.pmd(a)!.huge).toBe(0);
    expect(on.p.mm.pt.pmd(b)!.huge).toBe(-1);
    on.p.write8(b, 1);
    expect(on.p.readProc('/proc/self/smaps_rollup')).toContain('AnonHugePages:      2048 kB');
  });

  it('reports a use after free with the address and the mapping that owned it', () => {
    const { p, heap } = setup();
    const a = heap.mmap(3 * P, 'buffer #7');
    p.fill(a, 3 * P, 1);
    heap.munmap(a, 3 * P);
    let err: unknown;
    try {
      p.read8(a + P + 5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UseAfterFreeError);
    expect((err as UseAfterFreeError).owner).toEqual({ start: a, len: 3 * P, tag: 'buffer #7' });
    expect((err as Error).message).toContain('4101 bytes into buffer #7');
  });

  it('grows in place when the next range is free, and moves pages (not bytes) otherwise', () => {
    const { p, heap } = setup();
    const a = heap.mmap(2 * P);
    p.fill(a, 2 * P, 0x33);
    expect(heap.mremap(a, 2 * P, 4 * P)).toBe(a);
    expect(p.read8(a + 3 * P)).toBe(0);
    heap.mmap(P); // now the next range is taken
    const frame = p.mm.pt.pte(a);
    const b = heap.mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE);
    expect(b).not.toBe(a);
    expect(p.mm.pt.pte(b)).toBe(frame); // the same frame: moved, not copied
    expect(p.read8(b + P)).toBe(0x33);
    expect(() => p.read8(a)).toThrow(UseAfterFreeError);
    expect(heap.counters.UFFDIO_MOVE).toBeGreaterThan(0);
  });

  it('keeps mremap semantics: ENOMEM without MAYMOVE, EFAULT for unmapped, EINVAL for overlap', () => {
    const { heap } = setup();
    const a = heap.mmap(2 * P);
    heap.mmap(P);
    expect(() => heap.mremap(a, 2 * P, 4 * P)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(() => heap.mremap(a + 64 * P, P, 2 * P, MREMAP_MAYMOVE)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(() => heap.mremap(a, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, a + P)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => heap.mremap(a, 2 * P, 2 * P, MREMAP_FIXED)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('moves a whole THP as one PMD when growing a 2 MiB block elsewhere', () => {
    const { p, heap } = setup();
    const a = heap.mmap(M2);
    heap.mmap(M2); // blocks growth in place
    p.fill(a, M2, 5); // the zero pages are COWed one by one (no THP under ZEROPAGE'd PTEs)
    const b = heap.mremap(a, M2, 2 * M2, MREMAP_MAYMOVE);
    expect(p.read8(b + M2 - 1)).toBe(5);
    expect(p.read8(b + M2)).toBe(0);
  });

  it('fails with ENOMEM when the reservation is exhausted, leaving it usable', () => {
    const p = new Process();
    const heap = new UffdHeap(p, { size: 4 * M2 });
    const a = heap.mmap(3 * M2);
    expect(() => heap.mmap(2 * M2)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    heap.munmap(a, 3 * M2);
    expect(heap.mmap(4 * M2)).toBe(a);
  });
});
