// struct mm_struct: one address space. It owns the VMA tree, the page table, the mmap_lock
// accounting and the RSS counters, and provides the page- and VMA-level primitives the syscalls
// are built from (split, merge, zap, PMD split). Rules about when VMAs merge live in vma.ts.
import createDebug from 'debug';
import { FRAME_ANON, ZERO_PFN } from './frames.js';
import type { Kernel } from './kernel.js';
import { MmapLock } from './locks.js';
import { Tracepoints } from './tracepoints.js';
import { HUGE_ZERO, PageTable, PmdEntry, PTE_GUARD, PTE_NONE, PTE_WP_MARKER, PTEF_UFFD_WP } from './page-table.js';
import { Errno, HPAGE_PMD_NR, PMD_SIZE, PAGE_SIZE } from './uapi.js';
import { AnonVma, anonVmaCompatible, canMergeAfter, canMergeBefore, protoOf, Vma, VM_HUGETLB, type VmaProto } from './vma.js';
import { VmaTree } from './vma-tree.js';
import { TlbState } from './tlb.js';
import type { FaultKind } from './fault-kinds.js';
import type { ShmemFile } from './shmem.js';
import { FAULT_KINDS } from './fault-kinds.js';

const dbg = createDebug('mm:vma');

/** How an mm reaches its userfaultfd layer on a fault it cannot resolve alone. */
export interface UserfaultHook {
  /**
   * A fault in a range registered with userfaultfd. reason is VM_UFFD_MISSING, VM_UFFD_WP or
   * VM_UFFD_MINOR. Returns FAULT_MAPPED when the monitor resolved it, or a fault code.
   */
  fault(vma: Vma, addr: number, reason: number, write: boolean, kernel: boolean): number;
  /** munmap of [start, end) (UFFD_EVENT_UNMAP). */
  unmap?(start: number, end: number): void;
  /** MADV_DONTNEED/FREE/REMOVE of [start, end) in a registered VMA: true when UFFD_EVENT_REMOVE went out. */
  remove?(vma: Vma, start: number, end: number): boolean;
  /** mremap moved [from, from + len) to `to` (UFFD_EVENT_REMAP); returns whether `moved` keeps its registration. */
  remap?(moved: Vma, from: number, to: number, len: number): boolean;
}

/** Top of the mmap area when ASLR is off (mm->mmap_base on x86-64). */
export const MMAP_BASE = 0x7ffff7fff000;
/** Where brk starts: just above a non-PIE program's data (mm->start_brk). */
export const START_BRK = 0x555555560000;

export class Mm {
  readonly vmas = new VmaTree();
  readonly pt = new PageTable();
  readonly lock = new MmapLock();
  /** MM_ANONPAGES and MM_SHMEMPAGES, in pages. */
  rssAnon = 0;
  rssShmem = 0;
  /** Peak RSS in pages (hiwater_rss). */
  rssPeak = 0;
  startBrk = START_BRK;
  brk = START_BRK;
  mmapBase = MMAP_BASE;
  userfault: UserfaultHook | null = null;
  readonly faults: Record<FaultKind, number>;
  /** Syscalls and ioctls issued, by name. */
  readonly syscalls: Record<string, number> = {};
  /** TLB shootdown accounting (mm_cpumask, mmu_gather). */
  readonly tlb = new TlbState();
  /** Present pages unmapped by zaps (the work MADV_DONTNEED and munmap do per page). */
  pagesZapped = 0;

  /** Tracepoints: VMA writes, page faults, TLB flushes, for whoever subscribes. */
  readonly trace = new Tracepoints();

  constructor(readonly kernel: Kernel) {
    this.vmas.onChange = (s, e) => {
      if (this.trace.enabled('vma_write')) this.trace.emit('vma_write', s, e);
    };
    this.tlb.onFlush = (entries, ipis) => {
      if (this.trace.enabled('tlb_flush')) this.trace.emit('tlb_flush', entries, ipis);
    };
    this.faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  }

  get frames() {
    return this.kernel.frames;
  }

  get mapCount(): number {
    return this.vmas.count;
  }

  get rss(): number {
    return this.rssAnon + this.rssShmem;
  }

  countSyscall(name: string, n = 1): void {
    this.syscalls[name] = (this.syscalls[name] ?? 0) + n;
  }

  // ---- pages ------------------------------------------------------------------------------

  private rssAdd(pfn: number, n: number): void {
    if (pfn === ZERO_PFN) return;
    if (this.frames.flags(pfn) & FRAME_ANON) this.rssAnon += n;
    else this.rssShmem += n;
    if (n > 0 && this.rss > this.rssPeak) this.rssPeak = this.rss;
  }

  /** Map frame pfn at addr (the caller holds a reference for the mapping). */
  installPte(addr: number, pfn: number, flags = 0): void {
    const old = this.pt.pte(addr);
    if (old > 0) this.dropPte(addr, old);
    this.pt.setPte(addr, pfn, flags);
    this.rssAdd(pfn, 1);
  }

  private dropPte(addr: number, pfn: number): void {
    this.rssAdd(pfn, -1);
    this.frames.put(pfn);
    this.pt.clearPte(addr);
  }

  /** Map a freshly allocated THP (or the huge zero page) at the PMD containing addr. */
  installHugePmd(addr: number, head: number, flags = 0): void {
    const e = this.pt.pmdAlloc(addr);
    e.huge = head;
    e.hugeFlags = flags;
    if (head !== HUGE_ZERO) {
      this.rssAnon += HPAGE_PMD_NR;
      if (this.rss > this.rssPeak) this.rssPeak = this.rss;
    }
  }

  /**
   * split_huge_pmd: turn a PMD mapping into 512 PTEs (the huge zero page becomes 512 zero-page
   * PTEs). The frames stay where they are; only the mapping changes.
   */
  splitHugePmd(e: PmdEntry): void {
    if (e.huge === 0) return;
    const t = e.table();
    const wp = e.hugeFlags & PTEF_UFFD_WP;
    if (e.huge === HUGE_ZERO) {
      t.fill(ZERO_PFN);
    } else {
      // the folio stays compound (FRAME_THP) until something splits it: thp.ts splitFolio
      for (let i = 0; i < HPAGE_PMD_NR; i++) t[i] = e.huge + i;
    }
    e.pteFlags!.fill(wp);
    e.used = HPAGE_PMD_NR;
    e.huge = 0;
    e.hugeFlags = 0;
    this.tlb.gather(1);
    this.kernel.count('thp_split_pmd');
  }

  /** vma_adjust_trans_huge: a VMA boundary at addr must not cut through a PMD mapping. */
  splitHugeAt(addr: number): void {
    if (addr % PMD_SIZE === 0) return;
    const e = this.pt.pmd(addr);
    if (e && e.huge !== 0) this.splitHugePmd(e);
  }

  /**
   * zap_page_range_single / unmap_page_range (mm/memory.c): unmap every page in [start, end) and
   * drop the frames' references. Guard
   * markers survive unless `all` (munmap); poison and uffd-wp markers go. A PMD mapping only
   * partly in the range is split first.
   */
  zapRange(start: number, end: number, all: boolean): number {
    let zapped = 0;
    let present = 0;
    for (const e of this.pt.pmdsIn(start, end)) {
      const base = e.base;
      if (e.hugetlb) {
        // a hugetlbfs page stays in its file's page cache: only the mapping goes
        e.huge = 0;
        e.hugetlb = false;
        present++;
        this.pt.dropIfEmpty(e);
        continue;
      }
      if (e.huge !== 0) {
        if (base >= start && base + PMD_SIZE <= end) {
          if (e.huge !== HUGE_ZERO) {
            this.rssAnon -= HPAGE_PMD_NR;
            this.frames.putHuge(e.huge);
            zapped += HPAGE_PMD_NR;
          }
          present++;
          e.huge = 0;
          e.hugeFlags = 0;
          this.pt.dropIfEmpty(e);
          continue;
        }
        this.splitHugePmd(e);
      }
      const t = e.pte;
      if (!t) continue;
      const i0 = start > base ? (start - base) / PAGE_SIZE : 0;
      const i1 = Math.min(HPAGE_PMD_NR, (end - base) / PAGE_SIZE);
      for (let i = i0; i < i1; i++) {
        const v = t[i];
        if (v === PTE_NONE) continue;
        if (v === PTE_GUARD && !all) continue;
        if (v > 0) {
          this.rssAdd(v, -1);
          this.frames.put(v);
          if (v !== ZERO_PFN) zapped++;
          present++;
        }
        t[i] = PTE_NONE;
        e.pteFlags![i] = 0;
        e.used--;
      }
      this.pt.dropIfEmpty(e);
    }
    this.tlb.gather(present);
    this.pagesZapped += present;
    return zapped;
  }

  /**
   * free_pgtables / free_pgd_range (mm/memory.c) after [start, end) was unmapped: free the PTE
   * tables of the 2 MiB blocks the range touches, except a block shared with a VMA still there,
   * which the kernel works out from the neighbours: floor is the end of the VMA before (0 if
   * none), ceiling the start of the VMA after (0 if none: no limit).
   */
  freePgtables(start: number, end: number, floor: number, ceiling: number): void {
    let addr = Math.floor(start / PMD_SIZE) * PMD_SIZE;
    if (addr < floor) addr += PMD_SIZE;
    if (ceiling) {
      ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
      if (!ceiling) return;
      if (end > ceiling) end -= PMD_SIZE;
    }
    if (addr >= end) return;
    for (const e of this.pt.pmdsIn(addr, end)) this.pt.freePteTable(e);
  }

  /**
   * Map the zero page into every PTE of [start, end) that is none, PMD by PMD; stops at the first
   * PTE that holds anything, a marker included, or at a PMD mapping. Returns the bytes done.
   */
  fillZeroPtes(start: number, end: number): number {
    let a = start;
    while (a < end) {
      const pe = this.pt.pmd(a);
      if (pe && pe.huge !== 0) break;
      const e = pe ?? this.pt.pmdAlloc(a);
      const t = e.table();
      const f = e.pteFlags!;
      const stop = Math.min(end, e.base + PMD_SIZE);
      let i = (a - e.base) / PAGE_SIZE;
      for (; a < stop; a += PAGE_SIZE, i++) {
        const v = t[i];
        if (v !== PTE_NONE) break; // mfill_atomic_pte_zeropage: only a truly empty PTE
        e.used++;
        t[i] = ZERO_PFN;
        f[i] = 0;
      }
      this.pt.dropIfEmpty(e);
      if (a < stop) break;
    }
    return a - start;
  }

  /** Present (non-zero) pages in [start, end): what MADV_DONTNEED would free. */
  presentPages(start: number, end: number): number {
    let n = 0;
    for (const e of this.pt.pmdsIn(start, end)) {
      if (e.huge > 0) n += HPAGE_PMD_NR;
      else if (e.pte) {
        const base = e.base;
        const i0 = start > base ? (start - base) / PAGE_SIZE : 0;
        const i1 = Math.min(HPAGE_PMD_NR, (end - base) / PAGE_SIZE);
        for (let i = i0; i < i1; i++) if (e.pte[i] > 0 && e.pte[i] !== ZERO_PFN) n++;
      }
    }
    return n;
  }

  /** Whether any PTE in [start, end) is a uffd-wp marker or carries the uffd-wp bit. */
  hasWpMarkers(start: number, end: number): boolean {
    let found = false;
    this.pt.forEachPte(start, end, (_a, v, e, i) => {
      if (v === PTE_WP_MARKER || e.pteFlags![i] & PTEF_UFFD_WP) found = true;
    });
    return found;
  }

  private readonly files = new Set<ShmemFile>();

  /** Follow a file this mm maps, so a punched hole is unmapped here too (unmap_mapping_range). */
  attachFile(f: ShmemFile): void {
    if (this.files.has(f)) return;
    this.files.add(f);
    f.onTruncate.push((file, from, to) => this.unmapFilePages(file, from, to));
  }

  /** Unmap page-cache pages of file offsets [from, to); private COW copies stay (even_cows = 0). */
  private unmapFilePages(file: ShmemFile, from: number, to: number): void {
    for (const v of this.vmas) {
      if (v.file !== file) continue;
      const lo = Math.max(from, v.pgoff);
      const hi = Math.min(to, v.pgoff + v.pages);
      if (lo >= hi) continue;
      const start = v.start + (lo - v.pgoff) * PAGE_SIZE;
      const end = v.start + (hi - v.pgoff) * PAGE_SIZE;
      if (file.hugetlb) {
        for (const e of this.pt.pmdsIn(start, end)) {
          if (!e.hugetlb) continue;
          e.huge = 0;
          e.hugetlb = false;
          this.tlb.gather(1);
          this.pt.dropIfEmpty(e);
        }
        continue;
      }
      this.pt.forEachPte(start, end, (addr, pfn) => {
        if (pfn > 0 && !(this.frames.flags(pfn) & FRAME_ANON)) this.dropPte(addr, pfn);
      });
    }
  }

  // ---- anon_vma ---------------------------------------------------------------------------

  /**
   * anon_vma_prepare: give vma an anon_vma, reusing a neighbour's when the two could one day
   * merge (find_mergeable_anon_vma). Returns true when one had to be set up (the kernel then
   * needs mmap_lock, so a fault under the per-VMA lock retries under it).
   */
  anonVmaPrepare(vma: Vma): boolean {
    if (vma.anonVma) return false;
    vma.anonVma = this.findMergeableAnonVma(vma) ?? new AnonVma();
    return true;
  }

  private findMergeableAnonVma(vma: Vma): AnonVma | null {
    const compatible = (a: Vma, b: Vma) =>
      a.end === b.start &&
      a.file === null &&
      b.file === null &&
      ((a.flags ^ b.flags) & ~0x7) === 0 &&
      b.pgoff === a.pgoff + a.pages;
    const n = vma.next;
    if (n && n.anonVma && compatible(vma, n)) return n.anonVma;
    const p = vma.prev;
    if (p && p.anonVma && compatible(p, vma)) return p.anonVma;
    return null;
  }

  // ---- VMAs -------------------------------------------------------------------------------

  insertVma(v: Vma): void {
    this.vmas.insert(v);
    dbg('insert %s', v);
  }

  removeVma(v: Vma): void {
    this.vmas.remove(v);
    dbg('remove %s', v);
  }

  /**
   * split_vma (mm/vma.c): refuse with ENOMEM at vm.max_map_count (`checkLimit`; munmap and mremap
   * check beforehand and pass false), then __split_vma: split at addr, returning the upper part.
   */
  splitVma(v: Vma, addr: number, checkLimit = true): Vma {
    // hugetlb_vm_op_split: a hugetlbfs VMA splits only at huge page boundaries
    if (v.flags & VM_HUGETLB && addr % PMD_SIZE) throw new Errno('EINVAL', 'unaligned split of a hugetlb VMA');
    if (checkLimit && this.mapCount >= this.kernel.settings.maxMapCount) throw new Errno('ENOMEM', 'max_map_count');
    this.splitHugeAt(addr);
    const hi = v.cloneRange(addr, v.end);
    this.vmas.setEnd(v, addr);
    this.insertVma(hi);
    return hi;
  }

  /** Ensure a split at addr would not pass max_map_count, n splits ahead. */
  checkSplits(n: number): void {
    if (n > 0 && this.mapCount + n - 1 >= this.kernel.settings.maxMapCount) {
      throw new Errno('ENOMEM', 'max_map_count');
    }
  }

  /**
   * vma_merge_new_range: place a new range [start, end) described by p next to its neighbours,
   * extending prev and/or next when the rules allow. Returns the VMA that now covers the range,
   * or null when it must be a VMA of its own.
   */
  mergeNewRange(start: number, end: number, p: VmaProto): Vma | null {
    const before = this.vmas.findBefore(start);
    const prev = before && before.end === start ? before : null;
    const after = prev ? prev.next : this.vmas.findFrom(start);
    const next = after && after.start === end ? after : null;
    const left = prev !== null && canMergeAfter(prev, p);
    const right = next !== null && canMergeBefore(next, p);
    if (left && right && anonVmaCompatible(prev!.anonVma, next!.anonVma)) {
      prev!.anonVma ??= next!.anonVma ?? p.anonVma;
      this.vmas.setEnd(prev!, next!.end);
      this.removeVma(next!);
      dbg('merge new %s', prev);
      return prev;
    }
    if (left) {
      prev!.anonVma ??= p.anonVma;
      this.vmas.setEnd(prev!, end);
      dbg('merge new into prev %s', prev);
      return prev;
    }
    if (right) {
      next!.anonVma ??= p.anonVma;
      this.vmas.setStart(next!, start);
      next!.pgoff = p.pgoff;
      dbg('merge new into next %s', next);
      return next;
    }
    return null;
  }

  /**
   * vma_modify: give [start, end) of vma the attributes `change` sets, merging with a neighbour
   * when the result equals it and splitting otherwise. Returns the VMA now covering the range.
   */
  modifyRange(vma: Vma, start: number, end: number, change: (p: VmaProto) => void): Vma {
    const p = protoOf(vma, start, end);
    change(p);
    if (p.flags === vma.flags && p.uffd === vma.uffd) return vma;
    this.vmas.onChange?.(start, end);
    const prev = start === vma.start && vma.prev && vma.prev.end === start ? vma.prev : null;
    const next = end === vma.end && vma.next && vma.next.start === end ? vma.next : null;
    const left = prev !== null && canMergeAfter(prev, p);
    const right = next !== null && canMergeBefore(next, p);
    if (left && right && anonVmaCompatible(prev!.anonVma, next!.anonVma)) {
      prev!.anonVma ??= vma.anonVma ?? next!.anonVma;
      this.vmas.setEnd(prev!, next!.end);
      this.removeVma(vma);
      this.removeVma(next!);
      return prev!;
    }
    if (left) {
      this.splitHugeAt(end);
      prev!.anonVma ??= vma.anonVma;
      this.vmas.setEnd(prev!, end);
      if (end === vma.end) this.removeVma(vma);
      else {
        vma.pgoff = vma.pgoffOf(end);
        this.vmas.setStart(vma, end);
      }
      return prev!;
    }
    if (right) {
      this.splitHugeAt(start);
      next!.anonVma ??= vma.anonVma;
      // vma goes (or shrinks) first: next takes over its start, and the tree is keyed by start
      if (start === vma.start) this.removeVma(vma);
      else this.vmas.setEnd(vma, start);
      this.vmas.setStart(next!, start);
      next!.pgoff = p.pgoff;
      return next!;
    }
    this.checkSplits((start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0));
    let mid = vma;
    if (start > vma.start) mid = this.splitVma(vma, start);
    if (end < mid.end) this.splitVma(mid, end);
    mid.flags = p.flags;
    mid.uffd = p.uffd;
    this.vmas.onChange?.(mid.start, mid.end);
    return mid;
  }

  /** Invariant check used by tests: ordered, non-overlapping, page tables only inside VMAs. */
  checkInvariants(): void {
    let last = -1;
    let count = 0;
    for (const v of this.vmas) {
      count++;
      if (v.start >= v.end || v.start < last) throw new Error(`VMA order broken at ${v}`);
      if (v.start % PAGE_SIZE || v.end % PAGE_SIZE) throw new Error(`unaligned ${v}`);
      last = v.end;
    }
    if (count !== this.vmas.count) throw new Error('tree and list disagree');
    let rssAnon = 0;
    let rssShmem = 0;
    for (const e of this.pt.pmds.values()) {
      if (e.huge !== 0) {
        const v = this.vmas.find(e.base);
        if (!v || v.end < e.base + PMD_SIZE) throw new Error(`huge PMD outside a VMA at ${e.base.toString(16)}`);
        if (e.huge > 0 && !e.hugetlb) rssAnon += HPAGE_PMD_NR;
        continue;
      }
      if (!e.pte) throw new Error(`empty PMD entry kept at ${e.base.toString(16)}`);
      // an emptied PTE table may stay (Linux frees tables only in free_pgtables and PT reclaim),
      // but not in a block no VMA touches any more
      if (e.used === 0 && !this.vmas.overlapping(e.base, e.base + PMD_SIZE).length) throw new Error(`PTE table left outside every VMA at ${e.base.toString(16)}`);
      let used = 0;
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const val = e.pte[i];
        if (val === PTE_NONE) continue;
        used++;
        const addr = e.base + i * PAGE_SIZE;
        if (!this.vmas.find(addr)) throw new Error(`PTE outside any VMA at ${addr.toString(16)}`);
        if (val > 0 && val !== ZERO_PFN) {
          if (this.frames.refs(val) <= 0) throw new Error(`mapped frame ${val} has refcount ${this.frames.refs(val)}`);
          if (this.frames.flags(val) & FRAME_ANON) rssAnon++;
          else rssShmem++;
        }
      }
      if (used !== e.used) throw new Error(`PMD ${e.index} used=${e.used}, counted ${used}`);
    }
    if (rssAnon !== this.rssAnon || rssShmem !== this.rssShmem) {
      throw new Error(`RSS counters ${this.rssAnon}/${this.rssShmem} but page tables map ${rssAnon}/${rssShmem}`);
    }
  }
}
