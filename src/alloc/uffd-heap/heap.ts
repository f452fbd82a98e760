// The single-VMA heap: one anonymous reservation registered with userfaultfd (missing mode,
// UFFD_FEATURE_SIGBUS), and a userland mmap/munmap/mremap built from UFFDIO_ZEROPAGE,
// MADV_DONTNEED and UFFDIO_MOVE. After setup it never calls mmap, munmap, mremap or mprotect:
// the VMA count never changes and mmap_lock is never taken for writing.
import createDebug from 'debug';
import { NumberBTree } from '../../mm/btree.js';
import {
  Errno,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  SIGBUS,
  type SigInfo,
} from '../../mm/uapi.js';
import {
  O_CLOEXEC,
  O_NONBLOCK,
  UFFD_FEATURE_MOVE,
  UFFD_FEATURE_SIGBUS,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT,
  UffdError,
} from '../../mm/userfaultfd/uapi.js';
import type { Sys } from '../sys.js';
import { RangeAllocator } from './range-allocator.js';

const dbg = createDebug('uffd:heap');

export interface HeapOptions {
  /** Bytes reserved for the heap's one VMA. @defaultValue 64 GiB */
  size?: number;
  /** Map whole 2 MiB blocks with the huge zero page (the proposed UFFDIO_ZEROPAGE extension). @defaultValue false */
  hugeZeroPage?: boolean;
  /** MADV_HUGEPAGE on the reservation, so THPs can form in it (THP mode madvise). @defaultValue true */
  thp?: boolean;
  /**
   * How userland mmap maps a range: 'zeropage' (UFFDIO_ZEROPAGE: no memory until written, but
   * the first write to each page copies the zero page, a TLB shootdown once other CPUs run the
   * process) or 'copy' (UFFDIO_COPY of zeroes: memory at once, no copy-on-write later).
   * @defaultValue 'zeropage'
   */
  populate?: 'zeropage' | 'copy';
}

/** The source UFFDIO_COPY reads zeroes from (mapped once at setup, never written). */
const COPY_SOURCE = 2 * 1024 * 1024;

/** An access to heap memory that was unmapped: the address and the mapping that last held it. */
export class UseAfterFreeError extends Error {
  constructor(
    readonly addr: number,
    readonly owner: { start: number; len: number; tag: string } | null,
  ) {
    super(
      owner
        ? `use after free: 0x${addr.toString(16)} is ${addr - owner.start} bytes into ${owner.tag} [0x${owner.start.toString(16)}, +0x${owner.len.toString(16)}), unmapped`
        : `wild access: 0x${addr.toString(16)} is heap memory that was never mapped`,
    );
    this.name = 'UseAfterFreeError';
  }
}

/** Counters of the heap's own operations and of each ioctl it issued. */
export interface HeapCounters {
  mmap: number;
  munmap: number;
  mremap: number;
  guardInstall: number;
  guardRemove: number;
  UFFDIO_ZEROPAGE: number;
  UFFDIO_COPY: number;
  UFFDIO_MOVE: number;
  MADV_DONTNEED: number;
  MADV_GUARD_INSTALL: number;
  MADV_GUARD_REMOVE: number;
}

export class UffdHeap {
  readonly base: number;
  readonly size: number;
  readonly hugeZeroPage: boolean;
  private readonly populateMode: 'zeropage' | 'copy';
  private zeroSource = 0;
  private readonly uffd: number;
  private readonly ranges: RangeAllocator;
  /** Mapped ranges: start → length (aux) and an owner tag. */
  private readonly mapped = new NumberBTree<string>();
  /** Unmapped ranges, for use-after-free reports: start → tag, aux end. */
  private readonly graveyard = new NumberBTree<string>();
  mappedBytes = 0;
  readonly counters: HeapCounters = {
    mmap: 0,
    munmap: 0,
    mremap: 0,
    guardInstall: 0,
    guardRemove: 0,
    UFFDIO_ZEROPAGE: 0,
    UFFDIO_COPY: 0,
    UFFDIO_MOVE: 0,
    MADV_DONTNEED: 0,
    MADV_GUARD_INSTALL: 0,
    MADV_GUARD_REMOVE: 0,
  };

  constructor(
    readonly sys: Sys,
    opts: HeapOptions = {},
  ) {
    this.size = opts.size ?? 64 * 2 ** 30;
    this.hugeZeroPage = opts.hugeZeroPage ?? false;
    this.populateMode = opts.populate ?? 'zeropage';
    if (this.populateMode === 'copy') this.zeroSource = sys.mmap(0, COPY_SOURCE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    // the reservation is 2 MiB-aligned (its length is a multiple of 2 MiB), so blocks line up
    this.base = sys.mmap(0, this.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    if (opts.thp ?? true) sys.madvise(this.base, this.size, MADV_HUGEPAGE);
    this.uffd = sys.userfaultfd(O_CLOEXEC | O_NONBLOCK);
    sys.uffdApi(this.uffd, UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MOVE);
    sys.uffdRegister(this.uffd, this.base, this.size, UFFDIO_REGISTER_MODE_MISSING);
    this.ranges = new RangeAllocator(this.base, this.size);
    sys.sigaction(SIGBUS, (info) => this.onSigbus(info));
    dbg('heap at 0x%s, %d bytes, huge zero page %s', this.base.toString(16), this.size, this.hugeZeroPage);
  }

  contains(addr: number): boolean {
    return addr >= this.base && addr < this.base + this.size;
  }

  /** A missing page of the heap was touched: report whose it was. */
  private onSigbus(info: SigInfo): boolean {
    if (!this.contains(info.addr)) return false;
    const s = this.graveyard.floorSlot(info.addr);
    const owner =
      s >= 0 && this.graveyard.auxAt(s) > info.addr
        ? { start: this.graveyard.keyAt(s), len: this.graveyard.auxAt(s) - this.graveyard.keyAt(s), tag: this.graveyard.valAt(s) }
        : null;
    throw new UseAfterFreeError(info.addr, owner);
  }

  /** Map [start, start + len) with zero pages; huge zero pages for whole blocks with the extension. */
  private populate(start: number, len: number): void {
    if (this.populateMode === 'copy') {
      for (let at = 0; at < len; at += COPY_SOURCE) {
        this.counters.UFFDIO_COPY++;
        this.sys.uffdCopy(this.uffd, start + at, this.zeroSource, Math.min(COPY_SOURCE, len - at));
      }
      return;
    }
    const mode = this.hugeZeroPage ? UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT : 0;
    this.counters.UFFDIO_ZEROPAGE++;
    this.sys.uffdZeropage(this.uffd, start, len, mode);
  }

  private drop(start: number, len: number): void {
    this.counters.MADV_DONTNEED++;
    this.sys.madvise(start, len, MADV_DONTNEED);
  }

  private bury(start: number, len: number, tag: string): void {
    // the newest owner of an address wins: trim older graves it overlaps
    for (let s = this.graveyard.floorSlot(start + len - 1); s >= 0; s = this.graveyard.floorSlot(start + len - 1)) {
      const gs = this.graveyard.keyAt(s);
      const ge = this.graveyard.auxAt(s);
      if (ge <= start) break;
      const gt = this.graveyard.valAt(s);
      this.graveyard.delete(gs);
      if (gs < start) this.graveyard.set(gs, gt, start);
      if (ge > start + len) this.graveyard.set(start + len, gt, ge);
      if (gs < start) break;
    }
    this.graveyard.set(start, tag, start + len);
  }

  /**
   * Userland mmap: a free range of len bytes (rounded up to pages; 2 MiB-aligned from 2 MiB up,
   * or to `alignment`, a power of two), mapped with zero pages. Throws Errno ENOMEM when the heap
   * is exhausted. `tag` names the owner in use-after-free reports.
   */
  mmap(length: number, tag = 'mapping', alignment = PAGE_SIZE): number {
    if (length <= 0) throw new Errno('EINVAL', 'zero length');
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    const align = Math.max(alignment, len >= PMD_SIZE ? PMD_SIZE : PAGE_SIZE);
    const start = this.ranges.alloc(len, align);
    if (start < 0) throw new Errno('ENOMEM', 'heap exhausted');
    this.populate(start, len);
    this.mapped.set(start, tag, start + len);
    this.mappedBytes += len;
    this.counters.mmap++;
    if (dbg.enabled) dbg('mmap 0x%s +0x%s %s', start.toString(16), len.toString(16), tag);
    return start;
  }

  private mappingAt(addr: number): { start: number; end: number; tag: string } | null {
    const s = this.mapped.floorSlot(addr);
    if (s < 0 || this.mapped.auxAt(s) <= addr) return null;
    return { start: this.mapped.keyAt(s), end: this.mapped.auxAt(s), tag: this.mapped.valAt(s) };
  }

  /** Change the bookkeeping of [start, end) of a mapping: cut it out of the mapped index. */
  private unmapRange(start: number, end: number): void {
    for (let m = this.mappingAt(start) ?? this.nextMapping(start); m && m.start < end; m = this.nextMapping(m.end)) {
      const cs = Math.max(start, m.start);
      const ce = Math.min(end, m.end);
      this.mapped.delete(m.start);
      if (m.start < cs) this.mapped.set(m.start, m.tag, cs);
      if (ce < m.end) this.mapped.set(ce, m.tag, m.end);
      this.mappedBytes -= ce - cs;
      this.bury(cs, ce - cs, m.tag);
      this.ranges.free(cs, ce - cs);
    }
  }

  private nextMapping(addr: number): { start: number; end: number; tag: string } | null {
    const s = this.mapped.higherSlot(addr - 1);
    return s < 0 ? null : { start: this.mapped.keyAt(s), end: this.mapped.auxAt(s), tag: this.mapped.valAt(s) };
  }

  /** Userland munmap: MADV_DONTNEED (the range is missing again: SIGBUS on access) and free the range. */
  munmap(addr: number, length: number): void {
    if (addr % PAGE_SIZE || length <= 0) throw new Errno('EINVAL');
    const len = Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
    if (!this.contains(addr) || addr + len > this.base + this.size) throw new Errno('EINVAL', 'outside the heap');
    this.counters.munmap++;
    if (dbg.enabled) dbg('munmap 0x%s +0x%s', addr.toString(16), len.toString(16));
    // like munmap(2), unmapping what is not mapped is not an error
    this.drop(addr, len);
    this.unmapRange(addr, addr + len);
  }

  /**
   * Userland mremap with Linux's mremap semantics: shrink in place, grow in place when the next
   * range is free, otherwise (MREMAP_MAYMOVE) move the pages with UFFDIO_MOVE, never copying.
   */
  mremap(addr: number, oldLength: number, newLength: number, flags = 0, newAddr = 0): number {
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) throw new Errno('EINVAL');
    if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) throw new Errno('EINVAL');
    if (flags & MREMAP_DONTUNMAP) throw new Errno('EINVAL', 'DONTUNMAP is not offered by the heap');
    if (addr % PAGE_SIZE) throw new Errno('EINVAL');
    const oldLen = Math.ceil(oldLength / PAGE_SIZE) * PAGE_SIZE;
    const newLen = Math.ceil(newLength / PAGE_SIZE) * PAGE_SIZE;
    if (newLen === 0) throw new Errno('EINVAL');
    this.counters.mremap++;
    if (flags & MREMAP_FIXED) {
      if (newAddr % PAGE_SIZE || !this.contains(newAddr) || newAddr + newLen > this.base + this.size) throw new Errno('EINVAL');
      if (newAddr < addr + oldLen && addr < newAddr + newLen) throw new Errno('EINVAL', 'ranges overlap');
    }
    const m = this.mappingAt(addr);
    if (!m || addr + oldLen > m.end) throw new Errno('EFAULT', 'old range not mapped');
    if (!(flags & MREMAP_FIXED) && newLen <= oldLen) {
      if (newLen < oldLen) this.munmap(addr + newLen, oldLen - newLen);
      return addr;
    }
    if (!(flags & MREMAP_FIXED) && this.ranges.isFree(addr + oldLen, newLen - oldLen) && addr + oldLen === m.end) {
      this.ranges.take(addr + oldLen, newLen - oldLen);
      this.populate(addr + oldLen, newLen - oldLen);
      this.mapped.setAux(m.start, addr + newLen);
      this.mappedBytes += newLen - oldLen;
      if (dbg.enabled) dbg('mremap grow in place 0x%s to +0x%s', addr.toString(16), newLen.toString(16));
      return addr;
    }
    if (!(flags & MREMAP_MAYMOVE)) throw new Errno('ENOMEM', 'cannot grow in place');
    let to: number;
    if (flags & MREMAP_FIXED) {
      this.munmap(newAddr, newLen);
      if (!this.ranges.take(newAddr, newLen)) throw new Errno('ENOMEM');
      to = newAddr;
    } else {
      to = this.ranges.alloc(newLen, newLen >= PMD_SIZE ? PMD_SIZE : PAGE_SIZE);
      if (to < 0) throw new Errno('ENOMEM', 'heap exhausted');
    }
    const moved = Math.min(oldLen, newLen);
    this.movePages(to, addr, moved);
    if (newLen > moved) this.populate(to + moved, newLen - moved);
    this.mapped.set(to, m.tag, to + newLen);
    this.mappedBytes += newLen;
    // the source is missing now; its bookkeeping goes (and a shrinking move drops its tail)
    this.munmap(addr, oldLen);
    if (dbg.enabled) dbg('mremap move 0x%s -> 0x%s +0x%s', addr.toString(16), to.toString(16), newLen.toString(16));
    return to;
  }

  /** UFFDIO_MOVE the pages of [from, from + len) to `to` (missing there); holes stay holes. */
  private movePages(to: number, from: number, len: number): void {
    let done = 0;
    while (done < len) {
      this.counters.UFFDIO_MOVE++;
      try {
        done += this.sys.uffdMove(this.uffd, to + done, from + done, len - done, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
      } catch (e) {
        // EAGAIN: stopped part way (e.g. at a THP it had to split); go on from there
        if (!(e instanceof UffdError) || e.code !== 'EAGAIN' || e.progress <= 0) throw e;
        done += e.progress;
      }
    }
  }

  /** Guard pages inside the one VMA: MADV_GUARD_INSTALL, not a PROT_NONE VMA. */
  guard(addr: number, len: number): void {
    this.counters.guardInstall++;
    this.counters.MADV_GUARD_INSTALL++;
    this.sys.madvise(addr, len, MADV_GUARD_INSTALL);
  }

  unguard(addr: number, len: number): void {
    this.counters.guardRemove++;
    this.counters.MADV_GUARD_REMOVE++;
    this.sys.madvise(addr, len, MADV_GUARD_REMOVE);
  }

  /** The tag of the mapping that last held addr and was unmapped, or null. */
  lastOwner(addr: number): string | null {
    const s = this.graveyard.floorSlot(addr);
    return s >= 0 && this.graveyard.auxAt(s) > addr ? this.graveyard.valAt(s) : null;
  }

  /** Free address space left in the heap. */
  get freeBytes(): number {
    return this.ranges.freeBytes;
  }
}
