// Two baselines on ordinary syscalls: every allocation its own mmap (munmap on free), and a
// guarded, PartitionAlloc-like heap whose slot spans sit between PROT_NONE guard pages inside
// 2 MiB super pages, made with mprotect: the alternating rw/--- VMAs of a browser heap.
import { Errno, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_NONE, PROT_READ, PROT_WRITE, PAGE_SIZE as PAGE } from '../../mm/uapi.js';
import type { Allocator } from '../allocator.js';
import { type Sys, tryMmap, tryMremap } from '../sys.js';
import { HeapError } from '../malloc/errors.js';
import { CLASS_SIZES, SMALL_MAX, sizeClass } from '../malloc/size-classes.js';
import { alignedAllocRefused, callocSize, reallocRefused, sizeArg, TOO_LARGE } from '../c-args.js';
import { callocVia, overAligned } from './common.js';
import { AddressMap, PageMap } from '../address-map.js';

const RW = PROT_READ | PROT_WRITE;

/** Shared realloc by allocate-copy-free, for allocators without a better way. */
function copyRealloc(a: Allocator & { sizeOf(p: number): number }, sys: Sys, ptr: number, n: number): number {
  if (ptr === 0) return a.malloc(n);
  if (n === 0) {
    a.free(ptr);
    return 0;
  }
  const q = a.malloc(n);
  if (!q) return 0;
  const keep = Math.min(n, a.sizeOf(ptr));
  if (keep > 0) sys.copy(q, ptr, keep);
  a.free(ptr);
  return q;
}

export class MmapPerObject implements Allocator {
  /** Each live object's size by its address (every object starts a mapping: a page). */
  private readonly live = new PageMap();
  liveBytes = 0;

  constructor(private readonly sys: Sys) {}

  sizeOf(p: number): number {
    return this.live.get(p) ?? 0;
  }

  malloc(n: number): number {
    if (sizeArg('malloc', 'size', n) === TOO_LARGE) return 0;
    const p = tryMmap(this.sys, 0, Math.max(n, 1), RW, MAP_PRIVATE | MAP_ANONYMOUS);
    if (p === null) return 0;
    this.live.set(p, n);
    this.liveBytes += n;
    return p;
  }

  calloc(nmemb: number, size: number): number {
    const total = callocSize(nmemb, size);
    return total === TOO_LARGE ? 0 : this.malloc(total); // fresh mappings are zero
  }

  alignedAlloc(align: number, size: number): number {
    if (alignedAllocRefused(align, size)) return 0;
    if (align <= PAGE) return this.malloc(size);
    const p = this.malloc(size + align);
    if (!p) return 0;
    const q = Math.ceil(p / align) * align;
    if (q !== p) {
      this.sys.munmap(p, q - p);
      this.live.delete(p);
      this.live.set(q, size);
      this.liveBytes -= align;
    }
    return q;
  }

  free(p: number): void {
    if (p === 0) return;
    const n = this.live.take(p);
    if (n === undefined) throw new HeapError('invalid-pointer', p, 'free');
    this.liveBytes -= n;
    this.sys.munmap(p, Math.max(n, 1));
  }

  realloc(p: number, n: number): number {
    if (reallocRefused(p, n)) return 0;
    const old = this.live.get(p);
    if (p && n && old !== undefined) {
      // mremap may move the mapping: pages move, bytes are not copied; a refused one is NULL
      const q = tryMremap(this.sys, p, Math.max(old, 1), n, MREMAP_MAYMOVE);
      if (q === null) return 0;
      this.live.delete(p);
      this.live.set(q, n);
      this.liveBytes += n - old;
      return q;
    }
    return copyRealloc(this, this.sys, p, n);
  }
}

const SUPER_PAGE = 2 * 1024 * 1024;
/** A slot span: this many pages of slots, then one guard page. */
const SPAN_PAGES = 4;

interface Span {
  base: number;
  cls: number;
  slots: number;
  free: number[];
  bump: number;
  used: number;
}

/**
 * PartitionAlloc-like: super pages reserved PROT_NONE; a slot span for a size class is made
 * readable and writable by mprotect, leaving a guard page after it; requests above the largest
 * class are direct maps with a guard page on each side.
 */
export class GuardedMalloc implements Allocator {
  private readonly partial: Span[][] = CLASS_SIZES.map(() => []);
  private readonly spans = new Map<number, Span>();
  private readonly objects = new AddressMap<{ span: Span | null; size: number; len: number }>();
  private superBase = 0;
  private superUsed = SUPER_PAGE;
  liveBytes = 0;

  constructor(private readonly sys: Sys) {}

  sizeOf(p: number): number {
    return this.objects.get(p)?.size ?? 0;
  }

  private newSpan(cls: number): Span | null {
    const size = CLASS_SIZES[cls];
    const pages = Math.max(SPAN_PAGES, Math.ceil(size / PAGE));
    const need = (pages + 1) * PAGE;
    try {
      if (this.superUsed + need > SUPER_PAGE) {
        // a new super page: all PROT_NONE, with a guard page at its start
        this.superBase = this.sys.mmap(0, SUPER_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
        this.superUsed = PAGE;
      }
      const base = this.superBase + this.superUsed;
      this.sys.mprotect(base, pages * PAGE, RW);
      this.superUsed += need;
      const span: Span = { base, cls, slots: Math.floor((pages * PAGE) / size), free: [], bump: 0, used: 0 };
      for (let i = 0; i < pages; i++) this.spans.set(base / PAGE + i, span);
      return span;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      return null; // the kernel refused the super page or the span's mprotect
    }
  }

  malloc(n: number): number {
    if (sizeArg('malloc', 'size', n) === TOO_LARGE) return 0;
    if (n > SMALL_MAX) return this.direct(n);
    const cls = sizeClass(n);
    const list = this.partial[cls];
    let span = list[list.length - 1];
    if (!span) {
      const s = this.newSpan(cls);
      if (!s) return 0;
      list.push((span = s));
    }
    const i = span.free.length ? span.free.pop()! : span.bump++;
    span.used++;
    if (span.used === span.slots) list.pop();
    const p = span.base + i * CLASS_SIZES[cls];
    this.objects.set(p, { span, size: n, len: 0 });
    this.liveBytes += n;
    return p;
  }

  private direct(n: number): number {
    const len = Math.ceil(n / PAGE) * PAGE;
    try {
      const base = this.sys.mmap(0, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
      this.sys.mprotect(base + PAGE, len, RW);
      this.objects.set(base + PAGE, { span: null, size: n, len });
      this.liveBytes += n;
      return base + PAGE;
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      return 0; // the kernel refused the mapping or its mprotect
    }
  }

  calloc(nmemb: number, size: number): number {
    // direct maps are fresh zero pages; slots may hold old bytes
    return callocVia(this.sys, (n) => this.malloc(n), nmemb, size, (_p, n) => n <= SMALL_MAX);
  }

  alignedAlloc(align: number, size: number): number {
    if (alignedAllocRefused(align, size)) return 0;
    if (align <= 16) return this.malloc(size);
    const got = overAligned((n) => this.malloc(n), align, size);
    if (!got) return 0;
    const [p, q] = got;
    if (q !== p) {
      const o = this.objects.get(p)!;
      this.objects.delete(p);
      this.objects.set(q, { ...o, size, base: p } as typeof o);
      this.liveBytes -= align;
    }
    return q;
  }

  free(p: number): void {
    if (p === 0) return;
    const o = this.objects.get(p) as { span: Span | null; size: number; len: number; base?: number } | undefined;
    if (!o) throw new HeapError('invalid-pointer', p, 'free');
    this.objects.delete(p);
    this.liveBytes -= o.size;
    const start = o.base ?? p;
    if (!o.span) {
      this.sys.munmap(start - PAGE, o.len + 2 * PAGE);
      return;
    }
    const span = o.span;
    const size = CLASS_SIZES[span.cls];
    span.free.push((start - span.base) / size);
    if (span.used-- === span.slots) this.partial[span.cls].push(span);
  }

  realloc(p: number, n: number): number {
    if (reallocRefused(p, n)) return 0;
    const o = this.objects.get(p) as { span: Span | null; size: number; len: number; base?: number } | undefined;
    // a direct map staying one is resized, not copied (a copy would touch every page of it)
    if (o && !o.span && o.base === undefined && n > SMALL_MAX) return this.resizeDirect(p, o, n);
    return copyRealloc(this, this.sys, p, n);
  }

  /**
   * A direct map shrinks in place. It grows into a new guarded reservation: its pages move there
   * with mremap (MREMAP_FIXED, so no byte is copied), the rest of the new span is made readable
   * and writable, and the old guard pages go. NULL, with the block as it was, when the kernel
   * refuses the reservation or the move.
   */
  private resizeDirect(p: number, o: { size: number; len: number }, n: number): number {
    const len = Math.ceil(n / PAGE) * PAGE;
    if (len <= o.len) {
      this.liveBytes += n - o.size;
      o.size = n;
      return p;
    }
    const base = tryMmap(this.sys, 0, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    if (base === null) return 0;
    const q = base + PAGE;
    if (tryMremap(this.sys, p, o.len, o.len, MREMAP_MAYMOVE | MREMAP_FIXED, q) === null) {
      this.sys.munmap(base, len + 2 * PAGE);
      return 0;
    }
    // the new part joins the moved RW span: guard, RW, guard, as before
    this.sys.mprotect(q + o.len, len - o.len, RW);
    this.sys.munmap(p - PAGE, PAGE);
    this.sys.munmap(p + o.len, PAGE);
    this.objects.delete(p);
    this.objects.set(q, { span: null, size: n, len });
    this.liveBytes += n - o.size;
    return q;
  }
}
