// Physical memory: page frames with reference counts, holding real bytes only once a page has
// been written with data. A THP is 512 consecutive frames whose head is 512-aligned, so a split
// hands out its subpages as ordinary frames (as the kernel's split_huge_pmd leaves PTEs to them).
import { HPAGE_PMD_NR, PAGE_SIZE } from './uapi.js';

/** The shared zero page's frame number; never freed, never written. */
export const ZERO_PFN = 1;

export const FRAME_ANON = 1; // belongs to anonymous memory (else page cache)
export const FRAME_LAZYFREE = 2; // MADV_FREE'd and clean since
export const FRAME_THP = 4; // part of a PMD-mapped compound page

export class FrameTable {
  private refcount = new Int32Array(1 << 14);
  private fflags = new Uint8Array(1 << 14);
  private data: (Uint8Array | null)[] = new Array<Uint8Array | null>(1 << 14).fill(null);
  /** Next never-used frame number. Frame 0 is invalid, 1 is the zero page. */
  private next = 2;
  private freeSmall: number[] = [];
  private freeHuge: number[] = [];
  /** Frames currently allocated (not counting the zero page). */
  allocated = 0;

  private grow(min: number): void {
    let n = this.refcount.length;
    while (n < min) n *= 2;
    if (n === this.refcount.length) return;
    const r = new Int32Array(n);
    r.set(this.refcount);
    this.refcount = r;
    const f = new Uint8Array(n);
    f.set(this.fflags);
    this.fflags = f;
    // keep the bytes array dense (packed elements stay fast in V8)
    while (this.data.length < n) this.data.push(null);
  }

  /** Allocate one zero-filled frame with refcount 1. */
  alloc(flags: number): number {
    let pfn = this.freeSmall.pop();
    if (pfn === undefined) {
      // reuse a free huge block by carving it before growing the frame space
      const huge = this.freeHuge.pop();
      if (huge !== undefined) {
        for (let i = HPAGE_PMD_NR - 1; i > 0; i--) this.freeSmall.push(huge + i);
        pfn = huge;
      } else {
        pfn = this.next++;
        this.grow(this.next);
      }
    }
    this.refcount[pfn] = 1;
    this.fflags[pfn] = flags;
    this.allocated++;
    return pfn;
  }

  /** Allocate 512 consecutive zero-filled frames for a THP; returns the head frame. */
  allocHuge(flags: number): number {
    let head = this.freeHuge.pop();
    if (head === undefined) {
      head = Math.ceil(this.next / HPAGE_PMD_NR) * HPAGE_PMD_NR;
      // frames skipped for alignment are not lost: they go to the small free list
      for (let p = this.next; p < head; p++) this.freeSmall.push(p);
      this.next = head + HPAGE_PMD_NR;
      this.grow(this.next);
    }
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      this.refcount[head + i] = 1;
      this.fflags[head + i] = flags | FRAME_THP;
    }
    this.allocated += HPAGE_PMD_NR;
    return head;
  }

  get(pfn: number): void {
    if (pfn !== ZERO_PFN) this.refcount[pfn]++;
  }

  /** Drop a reference; the frame is freed (and its bytes dropped) at zero. */
  put(pfn: number): void {
    if (pfn === ZERO_PFN) return;
    if (--this.refcount[pfn] === 0) {
      this.data[pfn] = null;
      this.fflags[pfn] = 0;
      this.freeSmall.push(pfn);
      this.allocated--;
    }
  }

  /** Free a whole THP whose 512 frames each hold one reference. */
  putHuge(head: number): void {
    let whole = true;
    for (let i = 0; i < HPAGE_PMD_NR; i++) if (this.refcount[head + i] !== 1) whole = false;
    if (!whole) {
      for (let i = 0; i < HPAGE_PMD_NR; i++) this.put(head + i);
      return;
    }
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      this.refcount[head + i] = 0;
      this.fflags[head + i] = 0;
      this.data[head + i] = null;
    }
    this.allocated -= HPAGE_PMD_NR;
    this.freeHuge.push(head);
  }

  refs(pfn: number): number {
    return this.refcount[pfn];
  }

  flags(pfn: number): number {
    return this.fflags[pfn];
  }

  setFlags(pfn: number, set: number, clear = 0): void {
    this.fflags[pfn] = (this.fflags[pfn] & ~clear) | set;
  }

  /** The frame's bytes, or null while it is all zeroes. */
  bytes(pfn: number): Uint8Array | null {
    return this.data[pfn] ?? null;
  }

  /** The frame's bytes, materialised for writing. */
  writable(pfn: number): Uint8Array {
    let b = this.data[pfn];
    if (!b) {
      b = new Uint8Array(PAGE_SIZE);
      this.data[pfn] = b;
    }
    return b;
  }

  copy(dst: number, src: number): void {
    const b = this.data[src];
    this.data[dst] = b ? b.slice() : null;
  }

  /** Make the frame all zeroes again (drops its bytes). */
  clear(pfn: number): void {
    this.data[pfn] = null;
  }

  /** Frames that hold materialised bytes: the simulator's own memory cost. */
  bytesHeld(): number {
    let n = 0;
    for (const b of this.data) if (b) n++;
    return n * PAGE_SIZE;
  }
}
