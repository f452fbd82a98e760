// Segments: 2 MiB, 2 MiB-aligned pieces of the heap, so that each can become one THP and be
// given back whole (the Temeraire idea). A segment is cut either into 32 slabs of 64 KiB, each
// serving one small size class, or into page runs for medium requests.
import { NumberMap } from '../address-map.js';
import { CLASS_SIZES } from './size-classes.js';

export const SEGMENT_SIZE = 2 * 1024 * 1024;
export const SLAB_SIZE = 64 * 1024;
export const SLABS_PER_SEGMENT = SEGMENT_SIZE / SLAB_SIZE;
import { PAGE_SIZE as PAGE } from '../../mm/uapi.js';
const PAGES_PER_SEGMENT = SEGMENT_SIZE / PAGE;

export const SLOT_LIVE = 1;
export const SLOT_CACHED = 2;

/** A 64 KiB slab of equal slots. Free slots are a stack; never-used slots are known to be zero. */
export class Slab {
  readonly size: number;
  readonly capacity: number;
  /** Slots handed out and not freed. */
  used = 0;
  /** Slots below bump have been handed out at least once. */
  bump = 0;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  /**
   * SLOT_LIVE for a live slot (double frees and interior pointers are caught here), SLOT_CACHED for
   * one a thread cache holds (live in the slab, free for the program), 0 for a free one.
   */
  readonly live: Uint8Array;
  /** The size asked for, per live slot. */
  readonly requested: Int32Array;
  /** Whether the slab is on its class's partial list. */
  listed = false;
  /** Empty, but kept as its class's current slab so that a free/malloc pair does not churn slabs. */
  kept = false;
  /** The slab's memory held other objects before (so even never-used slots are not zero). */
  readonly reused: boolean;

  constructor(
    readonly segment: Segment,
    readonly index: number,
    readonly cls: number,
  ) {
    this.size = CLASS_SIZES[cls];
    this.base = segment.base + index * SLAB_SIZE;
    this.capacity = Math.floor(SLAB_SIZE / this.size);
    this.freeStack = new Int32Array(this.capacity);
    this.live = new Uint8Array(this.capacity);
    this.requested = new Int32Array(this.capacity);
    this.reused = segment.lastClass[index] >= 0;
    segment.lastClass[index] = cls;
  }

  /** Address of slot 0. */
  readonly base: number;

  get full(): boolean {
    return this.used === this.capacity;
  }

  /** Whether the slot last taken had never held data (so its memory is still zero). */
  lastFresh = false;

  /** Take a slot and return its index. */
  take(): number {
    let i: number;
    if (this.freeTop > 0) {
      i = this.freeStack[--this.freeTop];
      this.lastFresh = false;
    } else {
      i = this.bump++;
      this.lastFresh = !this.reused;
    }
    this.live[i] = SLOT_LIVE;
    this.used++;
    return i;
  }

  give(i: number): void {
    this.live[i] = 0;
    this.freeStack[this.freeTop++] = i;
    this.used--;
  }
}

/** One 2 MiB piece of the heap. */
export class Segment {
  readonly slabs: (Slab | null)[] = new Array<Slab | null>(SLABS_PER_SEGMENT).fill(null);
  /** Slabs in use (slab segments) or pages in use (run segments). */
  inUse = 0;
  /** Slabs that are empty but kept (see Slab.kept). */
  emptyKept = 0;
  /** Page runs (run segments): start page → pages, and a map of taken pages. */
  readonly runs = new NumberMap();
  private readonly pageTaken: Uint8Array | null;
  /** Per slab area, the class it last served (-1: never used, its memory is still zero pages). */
  readonly lastClass = new Int16Array(SLABS_PER_SEGMENT).fill(-1);

  constructor(
    readonly base: number,
    readonly kind: 'slabs' | 'runs',
    /** The memory was used before (a retained segment): nothing in it is known to be zero. */
    dirty = false,
  ) {
    this.pageTaken = kind === 'runs' ? new Uint8Array(PAGES_PER_SEGMENT) : null;
    if (dirty) this.lastClass.fill(0);
  }

  /** Whether ptr is where a slot of the class last served by its slab area would start. */
  wasSlot(ptr: number): boolean {
    const i = Math.floor((ptr - this.base) / SLAB_SIZE);
    const c = this.lastClass[i];
    return c >= 0 && ((ptr - this.base - i * SLAB_SIZE) % CLASS_SIZES[c]) === 0;
  }

  get freeSlabs(): number {
    return SLABS_PER_SEGMENT - this.inUse;
  }

  /** A new slab for class cls in the first free slot, or null when the segment is full. */
  newSlab(cls: number): Slab | null {
    const i = this.slabs.indexOf(null);
    if (i < 0) return null;
    const s = new Slab(this, i, cls);
    this.slabs[i] = s;
    this.inUse++;
    return s;
  }

  freeSlab(s: Slab): void {
    this.slabs[s.index] = null;
    this.inUse--;
  }

  /** First fit of n pages; returns the run's address or -1. */
  takeRun(pages: number): number {
    const t = this.pageTaken!;
    for (let i = 0; i + pages <= PAGES_PER_SEGMENT; ) {
      let j = 0;
      while (j < pages && !t[i + j]) j++;
      if (j === pages) {
        t.fill(1, i, i + pages);
        this.runs.set(i, pages);
        this.inUse += pages;
        return this.base + i * PAGE;
      }
      i += j + 1;
    }
    return -1;
  }

  /** Pages of the run starting at addr, or 0 when no run starts there. */
  runPages(addr: number): number {
    return this.runs.get((addr - this.base) / PAGE) ?? 0;
  }

  giveRun(addr: number): number {
    const i = (addr - this.base) / PAGE;
    const pages = this.runs.get(i)!;
    this.runs.delete(i);
    this.pageTaken!.fill(0, i, i + pages);
    this.inUse -= pages;
    return pages;
  }

  /** Whether the run at addr could grow in place to `pages` pages. */
  canGrowRun(addr: number, pages: number): boolean {
    const i = (addr - this.base) / PAGE;
    const have = this.runs.get(i)!;
    if (i + pages > PAGES_PER_SEGMENT) return false;
    for (let k = i + have; k < i + pages; k++) if (this.pageTaken![k]) return false;
    return true;
  }

  resizeRun(addr: number, pages: number): void {
    const i = (addr - this.base) / PAGE;
    const have = this.runs.get(i)!;
    if (pages > have) this.pageTaken!.fill(1, i + have, i + pages);
    else this.pageTaken!.fill(0, i + pages, i + have);
    this.runs.set(i, pages);
    this.inUse += pages - have;
  }

  get empty(): boolean {
    return this.inUse === 0;
  }
}
