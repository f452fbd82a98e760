// A glibc-like malloc (ptmalloc2, glibc 2.36, main arena): chunks with 16-byte alignment and an
// 8-byte header, tcache (7 per size up to 1032 bytes) and fastbins (up to 128 bytes) that do not
// coalesce, best fit over coalesced free chunks, a top chunk grown with brk (top_pad 128 KiB) and
// trimmed with brk when a free of 64 KiB or more leaves it above trim_threshold, and mmap for
// requests at or above the mmap threshold (128 KiB, raised dynamically to the size of a freed
// mmapped chunk, up to 32 MiB), whose realloc uses mremap. What matters for an experiment is when
// it calls brk, mmap, munmap and mremap, which is what these rules decide.
import { AddressMap, NumberMap } from '../address-map.js';
import { NumberBTree } from '../../mm/btree.js';
import { MADV_DONTNEED, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_NONE, PROT_READ, PROT_WRITE, PAGE_SIZE as PAGE } from '../../mm/uapi.js';
import type { Allocator } from '../allocator.js';
import { type Sys, tryMmap, tryMremap } from '../sys.js';
import { HeapError } from '../malloc/errors.js';
import { alignedAllocRefused, callocSize, ptrArg, reallocRefused, sizeArg, TOO_LARGE } from '../c-args.js';
import { callocVia, overAligned } from './common.js';

const SIZE_SZ = 8;
const MINSIZE = 32;
const TCACHE_MAX_CHUNK = 1040; // tcache serves requests up to 1032 bytes
const TCACHE_COUNT = 7;
const FASTBIN_MAX_CHUNK = 144; // requests up to 128 bytes (DEFAULT_MXFAST)
const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;
const MIN_LARGE_SIZE = 1024;
const MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;

export interface GlibcOptions {
  /** M_MMAP_THRESHOLD. @defaultValue 128 KiB */
  mmapThreshold?: number;
  /** Raise the threshold when an mmapped chunk is freed (off when M_MMAP_THRESHOLD is set). @defaultValue true */
  dynamicThreshold?: boolean;
  /** M_TRIM_THRESHOLD. @defaultValue 128 KiB */
  trimThreshold?: number;
  /** M_TOP_PAD. @defaultValue 128 KiB */
  topPad?: number;
  /** glibc.malloc.hugetlb=1: MADV_HUGEPAGE on the heap and on mmapped chunks. @defaultValue false */
  thp?: boolean;
}

function request2size(n: number): number {
  return Math.max(MINSIZE, Math.ceil((n + SIZE_SZ) / 16) * 16);
}

/** HEAP_MAX_SIZE: a secondary arena's heap reservation (2 × DEFAULT_MMAP_THRESHOLD_MAX). */
const HEAP_MAX = 64 * 1024 * 1024;

/**
 * One arena. The main arena grows its top chunk with brk; a secondary arena (a thread's) reserves
 * a 64 MiB-aligned heap of HEAP_MAX_SIZE with PROT_NONE (new_heap: mmap twice the size, unmap the
 * misaligned ends) and grows it with mprotect (grow_heap), shrinking with MADV_DONTNEED
 * (shrink_heap without overcommit checks).
 */
export class GlibcArena implements Allocator {
  /** 'brk' for the main arena, 'heap' for a secondary one. */
  private readonly kind: 'brk' | 'heap';
  /** How far the heap has been made writable (h->mprotect_size). */
  private mprotectEnd = 0;
  private reserveEnd = 0;
  private mmapThreshold: number;
  private trimThreshold: number;
  private readonly dynamic: boolean;
  private readonly topPad: number;
  private readonly thp: boolean;
  private heapStart = 0;
  /** The top chunk: [top, heapEnd). */
  private top = 0;
  private heapEnd = 0;
  /**
   * In-use heap chunks by (pointer - heap start) / 16: chunk size (0 when not in use) and the size
   * asked for, in typed arrays grown with the heap (a Map of half a million chunks was the
   * replay's bottleneck). Mmapped chunks, few, are in a Map by pointer.
   */
  private chunkSize = new Uint32Array(0);
  private chunkReq = new Uint32Array(0);
  private readonly mmapUsed = new AddressMap<{ size: number; req: number }>();
  /** Coalesced free chunks by address (aux: size), and by (size, address). */
  private readonly freeByAddr = new NumberBTree<number>();
  private readonly freeBySize = new NumberBTree<number>();
  /** tcache and fastbins: chunk addresses by chunk size, never coalesced while there. */
  private readonly tcache = new Map<number, number[]>();
  private readonly fastbins = new Map<number, number[]>();
  liveBytes = 0;

  private slot(p: number): number {
    return p >= this.heapStart && p < this.heapEnd ? (p - this.heapStart) / 16 : -1;
  }

  private ensureSlots(): void {
    const n = (this.heapEnd - this.heapStart) / 16;
    if (n <= this.chunkSize.length) return;
    const grow = (a: Uint32Array) => {
      const b = new Uint32Array(Math.max(n, a.length * 2));
      b.set(a);
      return b;
    };
    this.chunkSize = grow(this.chunkSize);
    this.chunkReq = grow(this.chunkReq);
  }

  /** The in-use chunk behind p: its size, the size asked for, whether mmapped; or null. */
  private info(p: number): { size: number; req: number; mmapped: boolean } | null {
    const i = this.slot(p);
    if (i >= 0) return this.chunkSize[i] ? { size: this.chunkSize[i], req: this.chunkReq[i], mmapped: false } : null;
    const m = this.mmapUsed.get(p);
    return m ? { ...m, mmapped: true } : null;
  }

  private setHeapChunk(p: number, size: number, req: number): void {
    const i = (p - this.heapStart) / 16;
    this.chunkSize[i] = size;
    this.chunkReq[i] = req;
  }

  private clearChunk(p: number): void {
    const i = this.slot(p);
    if (i >= 0) this.chunkSize[i] = 0;
    else this.mmapUsed.delete(p);
  }

  constructor(
    private readonly sys: Sys,
    opts: GlibcOptions = {},
    kind: 'brk' | 'heap' = 'brk',
  ) {
    this.kind = kind;
    this.mmapThreshold = opts.mmapThreshold ?? 128 * 1024;
    this.dynamic = opts.dynamicThreshold ?? opts.mmapThreshold === undefined;
    this.trimThreshold = opts.trimThreshold ?? 128 * 1024;
    this.topPad = opts.topPad ?? 128 * 1024;
    this.thp = opts.thp ?? false;
  }

  private sizeKey(size: number, chunk: number): number {
    return size * 2 ** 27 + (chunk - this.heapStart) / 16;
  }

  private addFree(chunk: number, size: number): void {
    this.freeByAddr.set(chunk, size, chunk + size);
    this.freeBySize.set(this.sizeKey(size, chunk), chunk);
  }

  private removeFree(chunk: number, size: number): void {
    this.freeByAddr.delete(chunk);
    this.freeBySize.delete(this.sizeKey(size, chunk));
  }

  /** sysmalloc: grow the top chunk to hold nb bytes (plus top_pad), with brk or the heap's mprotect. */
  private growTop(nb: number): boolean {
    if (this.kind === 'heap') return this.growHeap(nb);
    if (!this.heapStart) {
      this.heapStart = this.top = this.heapEnd = this.sys.brk(0);
    }
    const have = this.heapEnd - this.top;
    const size = Math.ceil((nb + this.topPad + MINSIZE - have) / PAGE) * PAGE;
    const old = this.heapEnd;
    if (this.sys.brk(old + size) !== old + size) return false;
    if (this.thp) this.sys.madvise(old, size, MADV_HUGEPAGE);
    this.heapEnd = old + size;
    this.ensureSlots();
    return true;
  }

  private growHeap(nb: number): boolean {
    if (!this.heapStart) {
      // new_heap: a HEAP_MAX-aligned reservation, carved out of one twice as large
      const raw = tryMmap(this.sys, 0, 2 * HEAP_MAX, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
      if (raw === null) return false;
      const base = Math.ceil(raw / HEAP_MAX) * HEAP_MAX;
      if (base > raw) this.sys.munmap(raw, base - raw);
      if (base + HEAP_MAX < raw + 2 * HEAP_MAX) this.sys.munmap(base + HEAP_MAX, raw + 2 * HEAP_MAX - base - HEAP_MAX);
      // the heap_info and arena header live at the start of the heap
      this.heapStart = base;
      this.top = this.heapEnd = this.mprotectEnd = base + PAGE;
      this.sys.mprotect(base, PAGE, PROT_READ | PROT_WRITE);
      this.reserveEnd = base + HEAP_MAX;
    }
    const have = this.heapEnd - this.top;
    const size = Math.ceil((nb + this.topPad + MINSIZE - have) / PAGE) * PAGE;
    if (this.heapEnd + size > this.reserveEnd) return false;
    if (this.heapEnd + size > this.mprotectEnd) {
      // grow_heap: mprotect only past what was ever made writable
      this.sys.mprotect(this.mprotectEnd, this.heapEnd + size - this.mprotectEnd, PROT_READ | PROT_WRITE);
      if (this.thp) this.sys.madvise(this.mprotectEnd, this.heapEnd + size - this.mprotectEnd, MADV_HUGEPAGE);
      this.mprotectEnd = this.heapEnd + size;
    }
    this.heapEnd += size;
    this.ensureSlots();
    return true;
  }

  /** systrim / heap_trim: give the top chunk back above top_pad. */
  private trim(): void {
    const topSize = this.heapEnd - this.top;
    const extra = Math.floor((topSize - this.topPad - MINSIZE - 1) / PAGE) * PAGE;
    if (extra <= 0) return;
    const target = this.heapEnd - extra;
    if (this.kind === 'heap') {
      this.sys.madvise(target, extra, MADV_DONTNEED);
      this.heapEnd = target;
      return;
    }
    if (this.sys.brk(target) === target) this.heapEnd = target;
  }

  /** Whether ptr is in this arena's heap or one of its mmapped chunks. */
  owns(ptr: number): boolean {
    return (ptr >= this.heapStart && ptr < this.heapEnd) || this.mmapUsed.has(ptr) || this.alignedInfo.has(ptr);
  }

  /** Chunks sitting in fastbins (have_fastchunks). */
  private fastChunks = 0;

  /** malloc_consolidate: fastbin chunks are freed for real (coalesced). */
  private consolidate(): void {
    if (this.fastChunks === 0) return;
    for (const list of this.fastbins.values()) {
      for (const c of list) this.release(c, this.chunkSizeOfFast(c));
      list.length = 0;
    }
    this.fastChunks = 0;
  }

  private readonly fastSizes = new NumberMap();

  private chunkSizeOfFast(c: number): number {
    const s = this.fastSizes.get(c)!;
    this.fastSizes.delete(c);
    return s;
  }

  malloc(n: number): number {
    const nb = request2size(n);
    if (nb >= this.mmapThreshold) return this.mmapChunk(n, nb);
    let chunk = this.fromCaches(nb);
    if (chunk < 0) {
      if (nb >= MIN_LARGE_SIZE) this.consolidate();
      chunk = this.bestFit(nb);
    }
    if (chunk < 0) chunk = this.fromTop(nb);
    // sysmalloc falls back to mmap when the heap cannot grow
    if (chunk < 0) return this.mmapChunk(n, nb);
    const p = chunk + 16;
    this.setHeapChunk(p, nb, n);
    this.liveBytes += n;
    return p;
  }

  private fromCaches(nb: number): number {
    const t = this.tcache.get(nb);
    if (t && t.length) return t.pop()!;
    const f = this.fastbins.get(nb);
    if (f && f.length) {
      const c = f.pop()!;
      this.fastSizes.delete(c);
      this.fastChunks--;
      return c;
    }
    return -1;
  }

  private bestFit(nb: number): number {
    const s = this.freeBySize.higherSlot(nb * 2 ** 27 - 1);
    if (s < 0) return -1;
    const chunk = this.freeBySize.valAt(s);
    const size = Math.floor(this.freeBySize.keyAt(s) / 2 ** 27);
    this.removeFree(chunk, size);
    if (size - nb >= MINSIZE) this.addFree(chunk + nb, size - nb);
    else this.absorbTail(chunk, size, nb);
    return chunk;
  }

  /** A remainder too small to split stays part of the chunk (recorded by size on free). */
  private readonly oversize = new NumberMap();

  private absorbTail(chunk: number, size: number, nb: number): void {
    if (size > nb) this.oversize.set(chunk, size);
  }

  private fromTop(nb: number): number {
    if (!this.heapStart || this.heapEnd - this.top < nb + MINSIZE) {
      if (!this.growTop(nb)) return -1;
    }
    const c = this.top;
    this.top += nb;
    return c;
  }

  private mmapChunk(n: number, nb: number): number {
    const len = Math.ceil((nb + SIZE_SZ) / PAGE) * PAGE;
    const base = tryMmap(this.sys, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (base === null) return 0;
    if (this.thp) this.sys.madvise(base, len, MADV_HUGEPAGE);
    const p = base + 16;
    this.mmapUsed.set(p, { size: len, req: n });
    this.liveBytes += n;
    return p;
  }

  calloc(nmemb: number, size: number): number {
    // fresh mmapped chunks are zero already; heap chunks may hold old bytes
    return callocVia(this.sys, (n) => this.malloc(n), nmemb, size, (p) => this.slot(p) >= 0);
  }

  alignedAlloc(align: number, size: number): number {
    if (align <= 16) return this.malloc(size);
    // _int_memalign: over-allocate, then use the aligned part (the slack stays with the chunk)
    const got = overAligned((n) => this.malloc(n), align, size);
    if (!got) return 0;
    const [p, q] = got;
    if (q === p) return p;
    this.alignedInfo.set(q, { ...this.info(p)!, req: size });
    this.clearChunk(p);
    this.aligned.set(q, p);
    this.liveBytes -= align;
    return q;
  }

  /** Aligned pointers to the chunk pointer they were carved from, and their chunk. */
  private readonly aligned = new NumberMap();
  private readonly alignedInfo = new AddressMap<{ size: number; req: number; mmapped: boolean }>();

  free(ptr: number): void {
    if (ptr === 0) return;
    const info = this.alignedInfo.get(ptr) ?? this.info(ptr);
    if (!info) throw new HeapError('invalid-pointer', ptr, 'free');
    if (this.alignedInfo.delete(ptr)) {
      /* the chunk was already cleared when the aligned pointer was carved */
    } else this.clearChunk(ptr);
    this.liveBytes -= info.req;
    const p = this.aligned.get(ptr) ?? ptr;
    this.aligned.delete(ptr);
    if (info.mmapped) {
      this.sys.munmap(p - 16, info.size);
      // the dynamic threshold: a freed mmapped chunk raises it (free in malloc.c)
      if (this.dynamic && info.size > this.mmapThreshold && info.size <= MMAP_THRESHOLD_MAX) {
        this.mmapThreshold = info.size;
        this.trimThreshold = 2 * info.size;
      }
      return;
    }
    const chunk = p - 16;
    const size = this.oversize.get(chunk) ?? info.size;
    this.oversize.delete(chunk);
    if (size <= TCACHE_MAX_CHUNK) {
      let t = this.tcache.get(size);
      if (!t) this.tcache.set(size, (t = []));
      if (t.length < TCACHE_COUNT) {
        t.push(chunk);
        return;
      }
    }
    if (size <= FASTBIN_MAX_CHUNK) {
      let f = this.fastbins.get(size);
      if (!f) this.fastbins.set(size, (f = []));
      f.push(chunk);
      this.fastSizes.set(chunk, size);
      this.fastChunks++;
      return;
    }
    const merged = this.release(chunk, size);
    if (merged >= FASTBIN_CONSOLIDATION_THRESHOLD) {
      this.consolidate();
      if (this.heapEnd - this.top >= this.trimThreshold) this.trim();
    }
  }

  /** Coalesce a chunk with free neighbours (and the top); returns the merged size. */
  private release(chunk: number, size: number): number {
    let c = chunk;
    let s = size;
    const before = this.freeByAddr.floorSlot(c - 1);
    if (before >= 0 && this.freeByAddr.auxAt(before) === c) {
      const bc = this.freeByAddr.keyAt(before);
      const bs = this.freeByAddr.valAt(before);
      this.removeFree(bc, bs);
      c = bc;
      s += bs;
    }
    const after = this.freeByAddr.get(c + s);
    if (after !== undefined) {
      this.removeFree(c + s, after);
      s += after;
    }
    if (c + s === this.top) {
      this.top = c;
      return this.heapEnd - this.top;
    }
    this.addFree(c, s);
    return s;
  }

  realloc(ptr: number, n: number): number {
    if (ptr === 0) return this.malloc(n);
    if (n === 0) {
      this.free(ptr);
      return 0;
    }
    const info = this.alignedInfo.get(ptr) ?? this.info(ptr);
    if (!info) throw new HeapError('invalid-pointer', ptr, 'realloc');
    const nb = request2size(n);
    const plain = !this.aligned.has(ptr);
    if (info.mmapped && plain) {
      // mremap_chunk: the kernel moves or resizes the mapping
      const len = Math.ceil((nb + SIZE_SZ) / PAGE) * PAGE;
      if (len === info.size) {
        this.liveBytes += n - info.req;
        this.mmapUsed.set(ptr, { size: len, req: n });
        return ptr;
      }
      // mremap_chunk; when the kernel refuses, glibc falls back to malloc, copy and free below
      const base = nb >= this.mmapThreshold || n > info.req ? (tryMremap(this.sys, ptr - 16, info.size, len, MREMAP_MAYMOVE) ?? -1) : -1;
      if (base >= 0) {
        this.mmapUsed.delete(ptr);
        this.mmapUsed.set(base + 16, { size: len, req: n });
        this.liveBytes += n - info.req;
        return base + 16;
      }
    } else if (!info.mmapped && plain && nb <= info.size) {
      this.liveBytes += n - info.req;
      this.setHeapChunk(ptr, info.size, n);
      return ptr;
    } else if (!info.mmapped && plain && ptr - 16 + info.size === this.top && this.heapEnd - this.top >= nb - info.size + MINSIZE) {
      // grow into the top chunk
      this.top += nb - info.size;
      this.setHeapChunk(ptr, nb, n);
      this.liveBytes += n - info.req;
      return ptr;
    }
    const q = this.malloc(n);
    if (!q) return 0;
    const keep = Math.min(n, info.req);
    if (keep > 0) this.sys.copy(q, ptr, keep);
    this.free(ptr);
    return q;
  }
}

export interface GlibcThreadOptions extends GlibcOptions {
  /** Cores the arena limit is counted from (arena_max = 8 x cores on 64-bit). @defaultValue 2 */
  cores?: number;
}

/**
 * glibc's malloc with its arenas: the first thread uses the main arena (brk); each other thread
 * gets an arena of its own (arena_get2 creates one while fewer than arena_max exist, then shares
 * them round-robin). A free goes to the arena that owns the chunk, whoever frees it.
 */
export class GlibcMalloc implements Allocator {
  private readonly arenas: GlibcArena[];
  private readonly byThread = new Map<number, GlibcArena>();
  private current: GlibcArena;
  private readonly arenaMax: number;
  private next = 0;

  constructor(
    private readonly sys: Sys,
    private readonly opts: GlibcThreadOptions = {},
  ) {
    this.arenas = [new GlibcArena(sys, opts, 'brk')];
    this.current = this.arenas[0];
    this.byThread.set(0, this.current);
    this.arenaMax = 8 * (opts.cores ?? 2);
  }

  get liveBytes(): number {
    let n = 0;
    for (const a of this.arenas) n += a.liveBytes;
    return n;
  }

  setThread(tid: number): void {
    let a = this.byThread.get(tid);
    if (!a) {
      if (this.arenas.length < this.arenaMax) {
        a = new GlibcArena(this.sys, this.opts, 'heap');
        this.arenas.push(a);
      } else {
        a = this.arenas[1 + (this.next++ % (this.arenas.length - 1))];
      }
      this.byThread.set(tid, a);
    }
    this.current = a;
  }

  private owner(ptr: number): GlibcArena {
    for (const a of this.arenas) if (a.owns(ptr)) return a;
    throw new HeapError('invalid-pointer', ptr, 'free');
  }

  // the arguments are checked here, once, as the C library's entry points check them
  malloc(n: number): number {
    return sizeArg('malloc', 'size', n) === TOO_LARGE ? 0 : this.current.malloc(n);
  }

  calloc(nmemb: number, size: number): number {
    return callocSize(nmemb, size) === TOO_LARGE ? 0 : this.current.calloc(nmemb, size);
  }

  alignedAlloc(align: number, size: number): number {
    if (alignedAllocRefused(align, size)) return 0;
    return this.current.alignedAlloc(align, size);
  }

  free(ptr: number): void {
    if (ptrArg('free', ptr) !== 0) this.owner(ptr).free(ptr);
  }

  realloc(ptr: number, n: number): number {
    if (reallocRefused(ptr, n)) return 0;
    return ptr === 0 ? this.malloc(n) : this.owner(ptr).realloc(ptr, n);
  }
}
