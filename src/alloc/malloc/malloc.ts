// uffd-malloc: malloc, calloc, realloc, free, aligned_alloc, posix_memalign and
// malloc_usable_size with C semantics, on top of the single-VMA heap.
//
// Small requests (≤ 32 KiB) come from size-class slabs packed into 2 MiB segments, fullest
// segment first, so that memory sits in as few hugepages as possible; a segment is given back
// whole (one MADV_DONTNEED of 2 MiB) once all its slabs are empty. Medium requests (≤ 512 KiB) are
// page runs in their own segments. Large ones are userland mmaps of their own, and realloc moves
// their pages with UFFDIO_MOVE instead of copying bytes. The fast path touches no syscall.
import { AddressMap, AddressSet, NumberMap } from '../address-map.js';
import { alignArg, callocSize, ptrArg, sizeArg, TOO_LARGE } from '../c-args.js';
import { smapsRollup, type Sys } from '../sys.js';
import { type HeapOptions, UffdHeap } from '../uffd-heap/heap.js';
import { Errno, MREMAP_MAYMOVE, PAGE_SIZE as PAGE } from '../../mm/uapi.js';
import { HeapError } from './errors.js';
import { SEGMENT_SIZE, SLAB_SIZE, Segment, Slab, SLOT_CACHED, SLOT_LIVE } from './segment.js';
import { alignedClass, CLASS_SIZES, SMALL_MAX, sizeClass } from './size-classes.js';
import { SLAB_TABLE_BYTES, SlabTable } from './slab-table.js';
import { ThreadCache } from './thread-cache.js';

/** Above this (512 KiB, as mimalloc's large objects), a request is a userland mmap of its own. */
export const MEDIUM_MAX = 512 * 1024;

export interface MallocOptions extends HeapOptions {
  /** Empty segments kept mapped for reuse before they are given back. @defaultValue 1 */
  retainEmptySegments?: number;
  /**
   * Bytes of freed memory to collect before giving it back. 0 gives each range back at once (one
   * MADV_DONTNEED, one TLB shootdown each); a batch sorts the ranges, joins the adjacent ones and
   * gives them back together, so many pages share a flush. Until then the memory stays mapped
   * (and a use after free of it is not caught). @defaultValue 0
   */
  releaseBatch?: number;
  /** Small objects each thread keeps for itself, per size class (a tcache). @defaultValue 16 */
  threadCache?: number;
  /**
   * Heap bytes (from its start) whose slabs free() finds through a flat table; slabs beyond are
   * found through their segment. Tests set it to 0 to run the second way. @defaultValue 1 TiB
   */
  slabTableBytes?: number;
}

/** What a large allocation holds: its mapping's length and the size asked for. */
interface Large {
  len: number;
  size: number;
}

export interface MallocStats {
  /** Bytes the program asked for and has not freed. */
  liveBytes: number;
  /** Bytes the heap has mapped with userland mmap. */
  mappedBytes: number;
  /** Resident bytes of the process, and how many of them THPs back (smaps_rollup). */
  rssBytes: number;
  thpBytes: number;
  /** Slots in use over slots in the slabs that exist. */
  slabOccupancy: number;
  segments: number;
  heap: UffdHeap['counters'];
}

/** A count or size option: a whole number, 0 or more (a RangeError naming the option otherwise). */
function countOption(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RangeError(`UffdMalloc: ${name} must be a whole number, 0 or more, not ${String(v)}`);
  return v;
}

export class UffdMalloc {
  readonly heap: UffdHeap;
  private readonly sys: Sys;
  private readonly retain: number;
  /** Per class, slabs with a free slot; the last one is the current slab. */
  private readonly partial: Slab[][] = CLASS_SIZES.map(() => []);
  /**
   * Segments by index ((address - heap base) / 2 MiB), retained empty ones included. It grows as
   * segments are made (the heap hands out its lowest addresses first), so a heap reserved at
   * 64 TiB costs no more than a small one.
   */
  private readonly segIndex: (Segment | undefined)[] = [];
  /** The slab of each 64 KiB area (free()'s lookup). */
  private readonly slabTable: SlabTable;
  /** Live segments (not counting retained empty ones). */
  private segmentCount = 0;
  private readonly slabSegments: Segment[] = [];
  private readonly runSegments: Segment[] = [];
  private readonly emptySegments: Segment[] = [];
  private readonly large = new AddressMap<Large>();
  /** Requested sizes of live medium objects (runs), by address. */
  private readonly sizes = new NumberMap();
  liveBytes = 0;

  constructor(sys: Sys, opts: MallocOptions = {}) {
    this.sys = sys;
    this.heap = new UffdHeap(sys, opts);
    this.retain = countOption('retainEmptySegments', opts.retainEmptySegments, 1);
    this.releaseBatch = countOption('releaseBatch', opts.releaseBatch, 0);
    this.cacheMax = countOption('threadCache', opts.threadCache, 16);
    this.slabTable = new SlabTable(this.heap.base, this.heap.size, countOption('slabTableBytes', opts.slabTableBytes, SLAB_TABLE_BYTES));
  }

  // ---- segments ------------------------------------------------------------------------------

  private newSegment(kind: 'slabs' | 'runs'): Segment | null {
    let seg = this.emptySegments.pop();
    if (seg) {
      seg = new Segment(seg.base, kind, true); // same memory, new use: nothing in it is zero
    } else {
      let base: number;
      try {
        base = this.heap.mmap(SEGMENT_SIZE, kind === 'slabs' ? 'slab segment' : 'run segment');
      } catch (e) {
        if (e instanceof Errno && e.code === 'ENOMEM') return null;
        throw e;
      }
      this.releasedSegments.delete(base);
      seg = new Segment(base, kind);
    }
    this.segIndex[(seg.base - this.heap.base) / SEGMENT_SIZE] = seg;
    this.segmentCount++;
    (kind === 'slabs' ? this.slabSegments : this.runSegments).push(seg);
    return seg;
  }

  private releaseSegment(seg: Segment): void {
    const list = seg.kind === 'slabs' ? this.slabSegments : this.runSegments;
    list.splice(list.indexOf(seg), 1);
    this.segmentCount--;
    if (this.emptySegments.length < this.retain) {
      this.emptySegments.push(seg); // stays in segIndex: its slabs' past is remembered
      return;
    }
    this.segIndex[(seg.base - this.heap.base) / SEGMENT_SIZE] = undefined;
    this.releasedSegments.add(seg.base);
    this.release(seg.base, SEGMENT_SIZE);
  }

  /** Bases of segments given back to the heap (and not mapped again since): a pointer into one was freed before. */
  private readonly releasedSegments = new AddressSet();

  /** Ranges waiting to be given back (start, length), and their bytes. */
  private readonly pending: number[] = [];
  private pendingBytes = 0;
  private readonly releaseBatch: number;

  /** Give a range back now, or queue it for the next batch. */
  private release(start: number, len: number): void {
    if (this.releaseBatch <= 0) return this.heap.munmap(start, len);
    this.pending.push(start, len);
    this.pendingBytes += len;
    if (this.pendingBytes >= this.releaseBatch) this.flushReleases();
  }

  /** Give back every queued range, adjacent ones in one call. */
  flushReleases(): void {
    const runs: [number, number][] = [];
    for (let i = 0; i < this.pending.length; i += 2) runs.push([this.pending[i], this.pending[i + 1]]);
    runs.sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < runs.length; ) {
      let [start, len] = runs[i++];
      while (i < runs.length && runs[i][0] === start + len) len += runs[i++][1];
      this.heap.munmap(start, len);
    }
    this.pending.length = 0;
    this.pendingBytes = 0;
  }

  /** Give back a slab segment whose slabs are all empty, dropping the ones kept for reuse. */
  private releaseSlabSegment(seg: Segment): void {
    for (const s of seg.slabs) {
      if (!s) continue;
      const list = this.partial[s.cls];
      if (s.listed) list.splice(list.indexOf(s), 1);
      s.listed = false;
      s.kept = false;
      seg.freeSlab(s);
      this.slabTable.remove(s);
    }
    seg.emptyKept = 0;
    this.releaseSegment(seg);
  }

  /** A slab for class cls in the fullest slab segment that has room (hugepage packing). */
  private newSlab(cls: number): Slab | null {
    let best: Segment | null = null;
    for (const seg of this.slabSegments) if (seg.freeSlabs > 0 && (!best || seg.freeSlabs < best.freeSlabs)) best = seg;
    best ??= this.newSegment('slabs');
    const slab = best ? best.newSlab(cls) : null;
    if (slab) this.slabTable.add(slab);
    return slab;
  }

  // ---- allocation ------------------------------------------------------------------------------

  /** Per thread, the slots it freed and keeps for itself (they stay live in their slab). */
  private readonly caches = new Map<number, ThreadCache>();
  private cache: ThreadCache | null = null;
  private readonly cacheMax: number;

  setThread(tid: number): void {
    let c = this.caches.get(tid);
    if (!c) this.caches.set(tid, (c = new ThreadCache(CLASS_SIZES.length, this.cacheMax)));
    this.cache = c;
  }

  /** malloc(3): a pointer, or 0 (NULL) when memory is exhausted. malloc(0) is a unique pointer. */
  malloc(size: number): number {
    if (sizeArg('malloc', 'size', size) === TOO_LARGE) return 0;
    return this.mallocSize(size);
  }

  private mallocSize(size: number): number {
    if (size <= SMALL_MAX) {
      const cls = sizeClass(size);
      const c = this.cache;
      if (c !== null && c.count[cls] > 0) return this.fromCache(c, cls, size);
      return this.smallAlloc(cls, size, false);
    }
    if (size <= MEDIUM_MAX) return this.runAlloc(size);
    return this.largeAlloc(size, PAGE);
  }

  private smallAlloc(cls: number, size: number, zero: boolean): number {
    const list = this.partial[cls];
    let slab = list.length ? list[list.length - 1] : null;
    if (!slab) {
      slab = this.newSlab(cls);
      if (!slab) return 0;
      slab.listed = true;
      list.push(slab);
    }
    if (slab.kept) {
      slab.kept = false;
      slab.segment.emptyKept--;
    }
    const i = slab.take();
    if (slab.full) {
      list.pop();
      slab.listed = false;
    }
    const p = slab.base + i * slab.size;
    slab.requested[i] = size;
    this.liveBytes += size;
    if (zero && !slab.lastFresh && size > 0) this.sys.fill(p, size, 0);
    return p;
  }

  private runAlloc(size: number): number {
    const pages = Math.ceil(size / PAGE);
    let p = -1;
    for (const seg of this.runSegments) if ((p = seg.takeRun(pages)) >= 0) break;
    if (p < 0) {
      const seg = this.newSegment('runs');
      if (!seg) return 0;
      p = seg.takeRun(pages);
    }
    this.sizes.set(p, size);
    this.liveBytes += size;
    return p;
  }

  private largeAlloc(size: number, align: number): number {
    let p: number;
    try {
      p = this.heap.mmap(size, `malloc(${size})`, align);
    } catch (e) {
      if (e instanceof Errno && e.code === 'ENOMEM') return 0;
      throw e;
    }
    this.large.set(p, { len: Math.ceil(size / PAGE) * PAGE, size });
    this.freedLarge.delete(p);
    this.liveBytes += size;
    return p;
  }

  /** calloc(3): zeroed memory; 0 (NULL) on overflow or exhaustion. */
  calloc(nmemb: number, size: number): number {
    const total = callocSize(nmemb, size);
    if (total === TOO_LARGE) return 0;
    if (total <= SMALL_MAX) return this.smallAlloc(sizeClass(total), total, true);
    const p = this.mallocSize(total);
    // runs may reuse pages that held data; fresh large mappings are zero pages already
    if (p && !this.large.has(p)) this.sys.fill(p, total, 0);
    return p;
  }

  /** aligned_alloc(3): 0 (NULL) when align is not a power of two or memory is exhausted. */
  alignedAlloc(align: number, size: number): number {
    align = alignArg('aligned_alloc', align);
    if (!align || sizeArg('aligned_alloc', 'size', size) === TOO_LARGE) return 0;
    if (align <= 16) return this.mallocSize(size);
    if (size <= SMALL_MAX && align <= SLAB_SIZE) {
      const c = alignedClass(size, align);
      if (c >= 0) return this.smallAlloc(c, size, false);
    }
    if (align <= PAGE && size <= MEDIUM_MAX) return this.runAlloc(size);
    return this.largeAlloc(Math.max(size, 1), Math.max(align, PAGE));
  }

  /** posix_memalign(3): [0, pointer], or [EINVAL or ENOMEM, 0]. */
  posixMemalign(align: number, size: number): [number, number] {
    // posix_memalign: a power of two and a multiple of sizeof(void *)
    if (alignArg('posix_memalign', align) < 8) return [new Errno('EINVAL').errno, 0];
    const p = this.alignedAlloc(align, size);
    return p ? [0, p] : [new Errno('ENOMEM').errno, 0];
  }

  // ---- free --------------------------------------------------------------------------------

  /** Where ptr lives: a small slab and slot, a run, or a large mapping. Throws HeapError otherwise. */
  private locate(ptr: number, op: string): { slab: Slab; slot: number } | { run: Segment } | { large: Large } {
    const live = this.slabAt(ptr);
    if (live) return { slab: live, slot: (ptr - live.base) / live.size };
    const seg = this.heap.contains(ptr) ? this.segIndex[Math.floor((ptr - this.heap.base) / SEGMENT_SIZE)] : undefined;
    if (seg && seg.kind === 'slabs') {
      const slab = seg.slabs[Math.floor((ptr - seg.base) / SLAB_SIZE)];
      if (slab) {
        const slot = (ptr - slab.base) / slab.size;
        if (slot === Math.floor(slot) && slot < slab.capacity) {
          if (slab.live[slot]) return { slab, slot };
          throw new HeapError('double-free', ptr, op);
        }
      } else if (seg.wasSlot(ptr)) {
        throw new HeapError('double-free', ptr, op);
      }
    } else if (seg && seg.runPages(ptr)) {
      return { run: seg };
    } else if (seg && (ptr - seg.base) % PAGE === 0) {
      throw new HeapError('double-free', ptr, op);
    }
    const big = this.large.get(ptr);
    if (big) return { large: big };
    // a pointer into memory the heap gave back: freed before (or never ours)
    const again = this.freedLarge.has(ptr) || this.releasedSegments.has(ptr - ((ptr - this.heap.base) % SEGMENT_SIZE));
    throw new HeapError(again ? 'double-free' : 'invalid-pointer', ptr, op);
  }

  /**
   * The slab in which ptr is a live (or cached) slot, or null for anything else (locate then says
   * what it is): the small-object fast path, with no record allocated.
   */
  private slabAt(ptr: number): Slab | null {
    const off = ptr - this.heap.base;
    let slab: Slab | null | undefined;
    if (off >= 0 && off < this.slabTable.covers) {
      slab = this.slabTable.at(off);
    } else {
      if (!this.heap.contains(ptr)) return null;
      const seg = this.segIndex[Math.floor(off / SEGMENT_SIZE)];
      slab = seg && seg.kind === 'slabs' ? seg.slabs[Math.floor((ptr - seg.base) / SLAB_SIZE)] : null;
    }
    if (!slab) return null;
    const slot = (ptr - slab.base) / slab.size;
    return slot === Math.floor(slot) && slot < slab.capacity && slab.live[slot] ? slab : null;
  }

  private readonly freedLarge = new AddressSet();

  /** The slot last cached for class cls handed out again: it was never given back to its slab. */
  private fromCache(c: ThreadCache, cls: number, size: number): number {
    const j = c.pop(cls);
    const slab = c.slabs[j]!;
    const ptr = c.ptrs[j];
    c.slabs[j] = null;
    const slot = (ptr - slab.base) / slab.size;
    slab.requested[slot] = size;
    slab.live[slot] = SLOT_LIVE;
    this.liveBytes += size;
    return ptr;
  }

  /** Where ptr lives, for a call that must not be given a slot sitting in a thread cache (that slot is free for the program). */
  private locateLive(ptr: number, op: string): ReturnType<UffdMalloc['locate']> {
    const where = this.locate(ptr, op);
    if ('slab' in where && where.slab.live[where.slot] === SLOT_CACHED) throw new HeapError('invalid-pointer', ptr, op);
    return where;
  }

  /** free(3). free(0) does nothing; an invalid pointer or a double free throws a HeapError. */
  free(ptr: number): void {
    if (ptr === 0) return;
    const slab = this.slabAt(ptr);
    if (slab) this.freeSlot(slab, ptr);
    else this.freeOther(ptr);
  }

  /** free() of a small object: into the thread's cache while it has room, else back to its slab. */
  private freeSlot(slab: Slab, ptr: number): void {
    const slot = (ptr - slab.base) / slab.size;
    if (slab.live[slot] === SLOT_CACHED) throw new HeapError('double-free', ptr, 'free');
    const c = this.cache;
    if (c !== null && c.count[slab.cls] < this.cacheMax) {
      this.liveBytes -= slab.requested[slot];
      c.push(slab.cls, ptr, slab);
      slab.live[slot] = SLOT_CACHED;
      return;
    }
    this.liveBytes -= slab.requested[slot];
    slab.give(slot);
    if (slab.used === 0) {
      const list = this.partial[slab.cls];
      if (slab.listed && list.length === 1) {
        // the class's only slab with room: keep it, the next malloc of this class wants it
        slab.kept = true;
        slab.segment.emptyKept++;
      } else {
        if (slab.listed) list.splice(list.indexOf(slab), 1);
        slab.listed = false;
        slab.segment.freeSlab(slab);
        this.slabTable.remove(slab);
      }
      const seg = slab.segment;
      if (seg.inUse === seg.emptyKept) this.releaseSlabSegment(seg);
    } else if (!slab.listed) {
      slab.listed = true;
      // keep the current slab current: older partial slabs go underneath
      this.partial[slab.cls].unshift(slab);
    }
  }

  /** free() of a run or a large block (locate throws for anything that is neither). */
  private freeOther(ptr: number): void {
    const where = this.locate(ptr, 'free');
    if ('slab' in where) throw new Error('unreachable: a live slot is freed by freeSlot');
    if ('run' in where) {
      this.liveBytes -= this.sizes.get(ptr)!;
      this.sizes.delete(ptr);
      where.run.giveRun(ptr);
      if (where.run.empty) this.releaseSegment(where.run);
    } else {
      this.liveBytes -= where.large.size;
      this.large.delete(ptr);
      this.release(ptr, where.large.len);
      this.freedLarge.add(ptr);
    }
  }

  /** malloc_usable_size(3). */
  usableSize(ptr: number): number {
    if (ptr === 0) return 0;
    const where = this.locateLive(ptr, 'malloc_usable_size');
    if ('slab' in where) return where.slab.size;
    if ('run' in where) return where.run.runPages(ptr) * PAGE;
    return where.large.len;
  }

  /** The size last asked for at a located pointer. */
  private requested(ptr: number, where: ReturnType<UffdMalloc['locate']>): number {
    if ('slab' in where) return where.slab.requested[where.slot];
    if ('run' in where) return this.sizes.get(ptr)!;
    return where.large.size;
  }

  /**
   * realloc(3): realloc(0, n) is malloc(n), realloc(p, 0) frees p and returns 0 (as glibc).
   * A large block grows or moves by UFFDIO_MOVE of its pages; the old pointer is then invalid.
   * On exhaustion it returns 0 and p is untouched.
   */
  realloc(ptr: number, size: number): number {
    ptrArg('realloc', ptr);
    // a size no allocation can meet fails before anything changes: the block stays as it was
    if (sizeArg('realloc', 'size', size) === TOO_LARGE) return 0;
    if (ptr === 0) return this.mallocSize(size);
    if (size === 0) {
      this.free(ptr);
      return 0;
    }
    const where = this.locateLive(ptr, 'realloc');
    const old = this.requested(ptr, where);
    if ('large' in where && size > MEDIUM_MAX) {
      const len = Math.ceil(size / PAGE) * PAGE;
      let p: number;
      try {
        p = len === where.large.len ? ptr : this.heap.mremap(ptr, where.large.len, len, MREMAP_MAYMOVE);
      } catch (e) {
        if (e instanceof Errno && e.code === 'ENOMEM') return 0;
        throw e;
      }
      this.large.delete(ptr);
      this.large.set(p, { len, size });
      this.liveBytes += size - old;
      if (p !== ptr) this.freedLarge.add(ptr);
      this.freedLarge.delete(p);
      return p;
    }
    if ('slab' in where && size <= where.slab.size && sizeClass(size) === where.slab.cls) {
      where.slab.requested[where.slot] = size;
      this.liveBytes += size - old;
      return ptr;
    }
    if ('run' in where && size > SMALL_MAX && size <= MEDIUM_MAX) {
      const pages = Math.ceil(size / PAGE);
      const have = where.run.runPages(ptr);
      if (pages <= have || where.run.canGrowRun(ptr, pages)) {
        where.run.resizeRun(ptr, pages);
        this.sizes.set(ptr, size);
        this.liveBytes += size - old;
        return ptr;
      }
    }
    const p = this.mallocSize(size);
    if (!p) return 0;
    const n = Math.min(old, size);
    if (n > 0) this.sys.copy(p, ptr, n);
    this.free(ptr);
    return p;
  }

  // ---- statistics ----------------------------------------------------------------------------

  stats(): MallocStats {
    let used = 0;
    let capacity = 0;
    for (const seg of this.slabSegments) {
      for (const s of seg.slabs) {
        if (!s) continue;
        used += s.used;
        capacity += s.capacity;
      }
    }
    const rollup = smapsRollup(this.sys);
    return {
      liveBytes: this.liveBytes,
      mappedBytes: this.heap.mappedBytes,
      rssBytes: (rollup.Rss ?? 0) * 1024,
      thpBytes: (rollup.AnonHugePages ?? 0) * 1024,
      slabOccupancy: capacity ? used / capacity : 0,
      segments: this.segmentCount,
      heap: { ...this.heap.counters },
    };
  }
}
