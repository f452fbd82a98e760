// Physical memory: page frames with reference counts, holding real bytes only once a page has
// been written with data. A THP is 512 consecutive frames whose head is 512-aligned, so a split
// hands out its subpages as ordinary frames (as the kernel's split_huge_pmd leaves PTEs to them).
//
// Bytes live in 1 MiB slabs of 256 frames, allocated when the first of their frames gets data and
// released when the last one loses it: allocating a 4 KiB buffer per page costs more than the
// kernel's whole page fault, copying within a slab does not. A page holding one byte value
// throughout keeps that byte alone until a store makes it mixed: filling and copying such pages
// costs no host memory (each fresh 4 KiB the host touches costs it a page fault).
import { HPAGE_PMD_NR, PAGE_SIZE } from './uapi.js';

/** The shared zero page's frame number; never freed, never written. */
export const ZERO_PFN = 1;

export const FRAME_ANON = 1; // belongs to anonymous memory (else page cache)
export const FRAME_LAZYFREE = 2; // MADV_FREE'd and clean since
// a subpage of a large (THP) folio: set at allocation, kept when the PMD mapping is split (the
// folio stays compound, PTE-mapped), cleared only when the folio itself is split (split_folio)
export const FRAME_THP = 4;
const FRAME_DATA = 0x80; // holds bytes in its slab (without keepBytes: holds something not zero)
// with FRAME_DATA and keepBytes: all 4096 bytes are uniformByte[pfn] and no slab holds them (a
// page one memset covered whole, the commonest data page of an allocator experiment)
const FRAME_UNIFORM = 0x40;
const BYTE_FLAGS = FRAME_DATA | FRAME_UNIFORM;

/** What a data frame reads as when its bytes are not kept: a constant that is not zero. */
export const PLACEHOLDER_BYTE = 0xa5;

/** The head frame of the THP a FRAME_THP subpage belongs to: heads are 512-aligned (allocHuge). */
export function folioHead(pfn: number): number {
  return pfn - (pfn % HPAGE_PMD_NR);
}

const SLAB_SHIFT = 8;
const SLAB_FRAMES = 1 << SLAB_SHIFT;
/**
 * Released slabs kept for reuse (64 MiB at most): a fresh buffer costs the host a page fault per
 * 4 KiB on first touch, a recycled one only the wipe of the frames that get data.
 */
const slabPool: Uint8Array[] = [];
const SLAB_POOL_MAX = 64;

export class FrameTable {
  /** keepBytes false: frames remember only zero or not, never their bytes (FRAME_DATA alone). */
  constructor(readonly keepBytes = true) {
    // reassigned once before anything is optimized, so the first grow() deoptimizes nothing (see
    // NumberBTree's constructor)
    this.resize(this.refcount.length);
    this.freeSmall = this.freeSmall.slice();
  }

  private refcount = new Int32Array(1 << 14);
  private fflags = new Uint8Array(1 << 14);
  /** The byte a FRAME_UNIFORM frame holds throughout. */
  private uniformByte = new Uint8Array(1 << 14);
  private slabs: (Uint8Array | null)[] = [];
  /** Frames holding data, per slab. */
  private slabUse: number[] = [];
  /** Next never-used frame number. Frame 0 is invalid, 1 is the zero page. */
  private next = 2;
  /** Free frame numbers, a stack in a typed array (a JS array's backing store shrank and grew again under churn). */
  private freeSmall = new Int32Array(1024);
  private freeSmallCount = 0;
  private freeHuge: number[] = [];
  /** Frames currently allocated (not counting the zero page). */
  allocated = 0;

  private grow(min: number): void {
    let n = this.refcount.length;
    while (n < min) n *= 2;
    if (n !== this.refcount.length) this.resize(n);
  }

  private resize(n: number): void {
    const r = new Int32Array(n);
    r.set(this.refcount);
    this.refcount = r;
    const f = new Uint8Array(n);
    f.set(this.fflags);
    this.fflags = f;
    const u = new Uint8Array(n);
    u.set(this.uniformByte);
    this.uniformByte = u;
  }

  /** Allocate one zero-filled frame with refcount 1. */
  alloc(flags: number): number {
    let pfn: number;
    if (this.freeSmallCount > 0) pfn = this.freeSmall[--this.freeSmallCount];
    else {
      // carve a free huge block before growing the frame space
      const huge = this.freeHuge.pop();
      if (huge !== undefined) {
        for (let i = HPAGE_PMD_NR - 1; i > 0; i--) this.pushFree(huge + i);
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
      for (let p = this.next; p < head; p++) this.pushFree(p);
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

  private pushFree(pfn: number): void {
    if (this.freeSmallCount === this.freeSmall.length) {
      const grown = new Int32Array(2 * this.freeSmall.length);
      grown.set(this.freeSmall);
      this.freeSmall = grown;
    }
    this.freeSmall[this.freeSmallCount++] = pfn;
  }

  get(pfn: number): void {
    if (pfn !== ZERO_PFN) this.refcount[pfn]++;
  }

  /** Drop a reference; the frame is freed (and its bytes dropped) at zero. */
  put(pfn: number): void {
    if (pfn === ZERO_PFN) return;
    if (--this.refcount[pfn] === 0) {
      this.clear(pfn);
      this.fflags[pfn] = 0;
      this.pushFree(pfn);
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
      this.clear(head + i);
      this.refcount[head + i] = 0;
      this.fflags[head + i] = 0;
    }
    this.allocated -= HPAGE_PMD_NR;
    this.freeHuge.push(head);
  }

  refs(pfn: number): number {
    return this.refcount[pfn];
  }

  flags(pfn: number): number {
    return this.fflags[pfn] & ~BYTE_FLAGS;
  }

  setFlags(pfn: number, set: number, clear = 0): void {
    this.fflags[pfn] = (this.fflags[pfn] & ~clear) | set;
  }

  /** Whether the frame holds bytes (else it reads as zeroes). */
  hasData(pfn: number): boolean {
    return (this.fflags[pfn] & FRAME_DATA) !== 0;
  }

  /** Whether the frame reads as all zeroes (pages_identical with the zero page). */
  isZero(pfn: number): boolean {
    if (!(this.fflags[pfn] & FRAME_DATA)) return true;
    if (!this.keepBytes) return false;
    if (this.fflags[pfn] & FRAME_UNIFORM) return this.uniformByte[pfn] === 0;
    const slab = this.slabs[pfn >> SLAB_SHIFT]!;
    const at = FrameTable.offset(pfn);
    const words = new Float64Array(slab.buffer, slab.byteOffset + at, PAGE_SIZE / 8);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }

  /**
   * The slab holding the frame's bytes, materialising them; bytes start at slabOffset(pfn).
   * `whole`: the caller is about to store the whole page, so old bytes need not be wiped first.
   */
  private slabFor(pfn: number, whole = false): Uint8Array {
    const s = pfn >> SLAB_SHIFT;
    const f = this.fflags[pfn];
    if (!(f & FRAME_DATA) || f & FRAME_UNIFORM) {
      // a uniform page's bytes are materialised with its byte; an empty one's are zeroes
      const fillByte = f & FRAME_UNIFORM ? this.uniformByte[pfn] : 0;
      this.fflags[pfn] = (f | FRAME_DATA) & ~FRAME_UNIFORM;
      while (this.slabs.length <= s) {
        this.slabs.push(null);
        this.slabUse.push(0);
      }
      let slab = this.slabs[s];
      if (!slab) {
        const recycled = slabPool.pop();
        slab = this.slabs[s] = recycled ?? new Uint8Array(SLAB_FRAMES * PAGE_SIZE);
        if (!recycled && fillByte === 0) {
          this.slabUse[s]++;
          return slab; // brand new: already zero
        }
      }
      // a frame's old bytes are wiped when it next gets data, as clear_page runs at allocation
      if (!whole) slab.fill(fillByte, FrameTable.offset(pfn), FrameTable.offset(pfn) + PAGE_SIZE);
      this.slabUse[s]++;
    }
    return this.slabs[s]!;
  }

  private static offset(pfn: number): number {
    return (pfn & (SLAB_FRAMES - 1)) * PAGE_SIZE;
  }

  /** Make the frame all zeroes again, dropping its bytes (and its slab when that was the last). */
  clear(pfn: number): void {
    const f = this.fflags[pfn];
    if (!(f & FRAME_DATA)) return;
    this.fflags[pfn] = f & ~BYTE_FLAGS;
    if (!this.keepBytes || f & FRAME_UNIFORM) return;
    const s = pfn >> SLAB_SHIFT;
    if (--this.slabUse[s] === 0) {
      if (slabPool.length < SLAB_POOL_MAX) slabPool.push(this.slabs[s]!);
      this.slabs[s] = null;
    }
  }

  byteAt(pfn: number, off: number): number {
    if (!this.keepBytes) return this.fflags[pfn] & FRAME_DATA ? PLACEHOLDER_BYTE : 0;
    if (this.fflags[pfn] & FRAME_UNIFORM) return this.uniformByte[pfn];
    return this.fflags[pfn] & FRAME_DATA ? this.slabs[pfn >> SLAB_SHIFT]![FrameTable.offset(pfn) + off] : 0;
  }

  /** Copy n bytes at offset off of the frame into out[outOff..]. */
  read(pfn: number, off: number, out: Uint8Array, outOff: number, n: number): void {
    if (!(this.fflags[pfn] & FRAME_DATA) || !this.keepBytes) {
      out.fill(this.fflags[pfn] & FRAME_DATA ? PLACEHOLDER_BYTE : 0, outOff, outOff + n);
      return;
    }
    if (this.fflags[pfn] & FRAME_UNIFORM) {
      out.fill(this.uniformByte[pfn], outOff, outOff + n);
      return;
    }
    const slab = this.slabs[pfn >> SLAB_SHIFT]!;
    const at = FrameTable.offset(pfn) + off;
    if (n <= 16) for (let i = 0; i < n; i++) out[outOff + i] = slab[at + i];
    else out.set(slab.subarray(at, at + n), outOff);
  }

  /** Store src[srcOff..srcOff + n) at offset off of the frame. Zeroes into a byte-less frame cost nothing. */
  write(pfn: number, off: number, src: Uint8Array, srcOff: number, n: number): void {
    if (!(this.fflags[pfn] & FRAME_DATA) || !this.keepBytes) {
      let zero = true;
      for (let i = 0; i < n && zero; i++) if (src[srcOff + i] !== 0) zero = false;
      if (!this.keepBytes) return this.markData(pfn, off, n, zero);
      if (zero) return;
    }
    const slab = this.slabFor(pfn, n === PAGE_SIZE);
    const at = FrameTable.offset(pfn) + off;
    if (n <= 16) for (let i = 0; i < n; i++) slab[at + i] = src[srcOff + i];
    else slab.set(src.subarray(srcOff, srcOff + n), at);
  }

  /** Store n copies of byte at offset off. */
  fill(pfn: number, off: number, n: number, byte: number): void {
    if (!this.keepBytes) return this.markData(pfn, off, n, byte === 0);
    const f = this.fflags[pfn];
    if (byte === 0 && !(f & FRAME_DATA)) return;
    if (n === PAGE_SIZE) {
      // the whole page: it holds this byte alone (zeroes: no data at all)
      this.clear(pfn);
      if (byte !== 0) {
        this.fflags[pfn] |= BYTE_FLAGS;
        this.uniformByte[pfn] = byte;
      }
      return;
    }
    if (f & FRAME_UNIFORM && this.uniformByte[pfn] === byte) return;
    const slab = this.slabFor(pfn, n === PAGE_SIZE);
    const at = FrameTable.offset(pfn) + off;
    if (n === 1) slab[at] = byte;
    else slab.fill(byte, at, at + n);
  }

  /**
   * Without kept bytes: a store of something not zero marks the frame; zeroes over the whole
   * page make it zero again (zeroes over part of it leave it as it was: it may hold data elsewhere).
   */
  private markData(pfn: number, off: number, n: number, zero: boolean): void {
    if (!zero) this.fflags[pfn] |= FRAME_DATA;
    else if (off === 0 && n >= PAGE_SIZE) this.fflags[pfn] &= ~FRAME_DATA;
  }

  /** Make dst's bytes equal src's. */
  copy(dst: number, src: number): void {
    if (!this.keepBytes) {
      this.fflags[dst] = (this.fflags[dst] & ~FRAME_DATA) | (this.fflags[src] & FRAME_DATA);
      return;
    }
    if (!(this.fflags[src] & FRAME_DATA)) {
      this.clear(dst);
      return;
    }
    if (this.fflags[src] & FRAME_UNIFORM) {
      this.clear(dst);
      this.fflags[dst] |= BYTE_FLAGS;
      this.uniformByte[dst] = this.uniformByte[src];
      return;
    }
    const d = this.slabFor(dst, true);
    const s = this.slabs[src >> SLAB_SHIFT]!;
    const at = FrameTable.offset(src);
    d.set(s.subarray(at, at + PAGE_SIZE), FrameTable.offset(dst));
  }

  /** A copy of the frame's bytes, or null while it is all zeroes (for tests and tools). */
  bytes(pfn: number): Uint8Array | null {
    if (!(this.fflags[pfn] & FRAME_DATA)) return null;
    if (!this.keepBytes) return new Uint8Array(PAGE_SIZE).fill(PLACEHOLDER_BYTE);
    if (this.fflags[pfn] & FRAME_UNIFORM) return new Uint8Array(PAGE_SIZE).fill(this.uniformByte[pfn]);
    const at = FrameTable.offset(pfn);
    return this.slabs[pfn >> SLAB_SHIFT]!.slice(at, at + PAGE_SIZE);
  }

  /** Bytes of slab memory held: the simulator's own cost for page contents. */
  bytesHeld(): number {
    let n = 0;
    for (const s of this.slabs) if (s) n += s.length;
    return n;
  }
}
