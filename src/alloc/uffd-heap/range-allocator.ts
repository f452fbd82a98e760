// The heap's own address-space allocator: free ranges kept address-ordered and coalesced, found
// first-fit through size-segregated indexes (a range of n pages sits in bin floor(log2 n)).
// Addresses are byte addresses, lengths multiples of 4 KiB.
import { NumberBTree } from '../../mm/btree.js';

import { PAGE_SIZE as PAGE } from '../../mm/uapi.js';

function bin(len: number): number {
  const pages = len / PAGE;
  // clz32 sees only 32 bits: 2^32 pages (16 TiB) and more would wrap to a wrong bin
  return pages < 2 ** 32 ? 31 - Math.clz32(pages) : Math.floor(Math.log2(pages));
}

export class RangeAllocator {
  /** Free ranges by start; aux holds the end. */
  private readonly byStart = new NumberBTree<number>();
  /** Per size bin, the free ranges of that bin by start. */
  private readonly bins: NumberBTree<number>[] = [];
  freeBytes = 0;

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    this.insert(base, base + size);
  }

  private binTree(b: number): NumberBTree<number> {
    while (this.bins.length <= b) this.bins.push(new NumberBTree<number>());
    return this.bins[b];
  }

  private insert(start: number, end: number): void {
    this.byStart.set(start, end, end);
    this.binTree(bin(end - start)).set(start, end);
    this.freeBytes += end - start;
  }

  private remove(start: number, end: number): void {
    this.byStart.delete(start);
    this.bins[bin(end - start)].delete(start);
    this.freeBytes -= end - start;
  }

  /** Take len bytes aligned to align (a power of two ≥ 4 KiB): the lowest fitting address, or -1. */
  alloc(len: number, align = PAGE): number {
    const need = len + (align > PAGE ? align - PAGE : 0);
    let best = -1;
    let bestEnd = 0;
    // the request's own bin holds ranges that may be too small: first fit by address
    const own = bin(Math.max(need, PAGE));
    if (own < this.bins.length) {
      for (const [start, end] of this.bins[own].entries()) {
        if (this.fits(start, end, len, align)) {
          best = start;
          bestEnd = end;
          break;
        }
      }
    }
    // every range of a larger bin fits: take the lowest address among their first entries
    for (let b = own + 1; b < this.bins.length; b++) {
      const it = this.bins[b].entries().next();
      if (!it.done && (best < 0 || it.value[0] < best)) {
        best = it.value[0];
        bestEnd = it.value[1];
      }
    }
    if (best < 0) return -1;
    const a = Math.ceil(best / align) * align;
    this.remove(best, bestEnd);
    if (a > best) this.insert(best, a);
    if (a + len < bestEnd) this.insert(a + len, bestEnd);
    return a;
  }

  private fits(start: number, end: number, len: number, align: number): boolean {
    return Math.ceil(start / align) * align + len <= end;
  }

  /** Take exactly [start, start + len) if it is free (for growing in place). */
  take(start: number, len: number): boolean {
    const s = this.byStart.floorSlot(start);
    if (s < 0) return false;
    const fs = this.byStart.keyAt(s);
    const fe = this.byStart.auxAt(s);
    if (start + len > fe) return false;
    this.remove(fs, fe);
    if (fs < start) this.insert(fs, start);
    if (start + len < fe) this.insert(start + len, fe);
    return true;
  }

  /** Whether [start, start + len) is wholly free. */
  isFree(start: number, len: number): boolean {
    const s = this.byStart.floorSlot(start);
    return s >= 0 && this.byStart.auxAt(s) >= start + len;
  }

  /** Return a range, coalescing with free neighbours. */
  free(start: number, len: number): void {
    let s = start;
    let e = start + len;
    const before = this.byStart.floorSlot(start);
    if (before >= 0 && this.byStart.auxAt(before) === start) {
      s = this.byStart.keyAt(before);
      this.remove(s, start);
    }
    const after = this.byStart.get(e);
    if (after !== undefined) {
      this.remove(e, after);
      e = after;
    }
    this.insert(s, e);
  }

  /** Free ranges in address order (for tests and reports). */
  ranges(): [number, number][] {
    return [...this.byStart.entries()].map(([s, e]) => [s, e]);
  }
}
