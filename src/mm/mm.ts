// struct mm_struct: one address space. It owns the VMA tree, the page table, the mmap_lock
// accounting and the RSS counters, and maps and unmaps single pages on them. The operations
// live where mm/ has them: VMA split and merge in vma-ops.ts (mm/vma.c), zapping and page-table
// freeing in memory.ts (mm/memory.c), PMD splits in thp.ts (mm/huge_memory.c); the rules for
// when VMAs merge in vma.ts.
import { FRAME_ANON, ZERO_PFN } from './frames.js';
import type { Kernel } from './kernel.js';
import { MmapLock } from './locks.js';
import { syscallName } from './syscall-nr.js';
import { Tracepoints } from './tracepoints.js';
import { HUGE_ZERO, PageTable, type PmdEntry, PTE_NONE, pteIndex } from './page-table.js';
import { HPAGE_PMD_NR, PMD_SIZE, PAGE_SIZE } from './uapi.js';
import { AnonVma, type Vma } from './vma.js';
import { VmaTree } from './vma-tree.js';
import { TlbState } from './tlb.js';
import type { FaultKind } from './fault-kinds.js';
import type { ShmemFile } from './shmem.js';
import { FAULT_KINDS } from './fault-kinds.js';

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
  /** PMD-mapped anonymous THPs: AnonHugePages is this many 2 MiB (smaps walks for it per VMA). */
  anonHugePmds = 0;
  /** Peak RSS in pages (hiwater_rss). */
  rssPeak = 0;
  startBrk = START_BRK;
  brk = START_BRK;
  mmapBase = MMAP_BASE;
  userfault: UserfaultHook | null = null;
  readonly faults: Record<FaultKind, number>;
  /** TLB shootdown accounting (mm_cpumask, mmu_gather). */
  readonly tlb = new TlbState();
  /** Present pages unmapped by zaps (the work MADV_DONTNEED and munmap do per page). */
  pagesZapped = 0;
  /** First accesses without a fault to PTEs the kernel installed outside one (PTEF_UNTOUCHED). */
  firstTouches = 0;
  /** PTEs mremap moved one by one (move_ptes); a PTE table moved whole (move_normal_pmd) is not counted. */
  ptesMoved = 0;

  /** Tracepoints: VMA writes, page faults, TLB flushes, for whoever subscribes. */
  readonly trace = new Tracepoints();

  constructor(readonly kernel: Kernel) {
    this.vmas.onChange = (s, e) => {
      if (this.trace.vma_write.enabled) this.trace.vma_write.emit(s, e);
    };
    this.tlb.onFlush = (entries, ipis) => {
      if (this.trace.tlb_flush.enabled) this.trace.tlb_flush.emit(entries, ipis);
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

  /** Count n calls of syscall (or ioctl, or pages of one) number nr (syscall-nr.ts). */
  countSyscall(nr: number, n = 1): void {
    let counts = this.callCounts;
    if (nr >= counts.length) {
      counts = this.callCounts = growTo(counts, nr);
      this.callSeen = growTo(this.callSeen, nr);
    }
    if (this.callSeen[nr] === 0) {
      this.callSeen[nr] = 1;
      this.callOrder.push(nr);
    }
    counts[nr] += n;
    this.syscallCount += n;
    if (this.trace.sys_enter.enabled) this.trace.sys_enter.emit(nr, n);
  }

  /** How many calls of number nr were counted. */
  syscallCountOf(nr: number): number {
    return nr < this.callCounts.length ? this.callCounts[nr] : 0;
  }

  /** The calls counted, by name, in the order each was first made. */
  get syscalls(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const nr of this.callOrder) out[syscallName(nr)] = this.callCounts[nr];
    return out;
  }

  private callCounts = new Float64Array(32);
  private callSeen = new Float64Array(32);
  private readonly callOrder: number[] = [];

  /** All of `syscalls` added up (one number to tell whether any call was made). */
  syscallCount = 0;

  // ---- pages ------------------------------------------------------------------------------

  private rssAdd(pfn: number, n: number): void {
    if (pfn === ZERO_PFN) return;
    if (this.frames.flags(pfn) & FRAME_ANON) this.rssAnon += n;
    else this.rssShmem += n;
    if (n > 0 && this.rss > this.rssPeak) this.rssPeak = this.rss;
  }

  /** Map frame pfn at addr (the caller holds a reference for the mapping). */
  installPte(addr: number, pfn: number, flags = 0): void {
    this.installPteIn(this.pt.pmdAlloc(addr), addr, pfn, flags);
  }

  /** installPte in the PMD entry that covers addr, which the caller's walk already found. */
  installPteIn(e: PmdEntry, addr: number, pfn: number, flags = 0): void {
    const t = this.pt.pteAlloc(e);
    const i = pteIndex(addr);
    const old = t[i];
    if (old > 0) this.releasePage(old);
    else if (old === PTE_NONE) e.used++; // a marker replaced was counted already
    t[i] = pfn;
    e.pteFlags![i] = flags;
    this.rssAdd(pfn, 1);
  }

  private dropPte(addr: number, pfn: number): void {
    this.releasePage(pfn);
    this.pt.clearPte(addr);
  }

  /** A mapping of frame pfn went (zap_present_ptes): the RSS counter and the frame's reference drop; the PTE is the caller's. */
  releasePage(pfn: number): void {
    this.rssAdd(pfn, -1);
    this.frames.put(pfn);
  }

  /** Map a freshly allocated THP (or the huge zero page) at the PMD containing addr. */
  installHugePmd(addr: number, head: number, flags = 0): void {
    const e = this.pt.pmdAlloc(addr);
    this.pt.mapHuge(e, head);
    e.hugeFlags = flags;
    if (head !== HUGE_ZERO) {
      this.anonHugePmds++;
      this.rssAnon += HPAGE_PMD_NR;
      if (this.rss > this.rssPeak) this.rssPeak = this.rss;
    }
  }

  private readonly files = new Set<ShmemFile>();

  /** Follow a file this mm maps, so a punched hole is unmapped here too (unmap_mapping_range). */
  attachFile(f: ShmemFile): void {
    if (this.files.has(f)) return;
    this.files.add(f);
    f.onTruncate.push((file, from, to) => this.unmapFilePages(file, from, to));
  }

  /**
   * Unmap page-cache pages of file offsets [from, to); private COW copies stay (even_cows = 0).
   * Each VMA is zapped as zap_page_range_single does it (unmap_mapping_range_vma): what it
   * unmapped is gathered (and counted as zapped, as unmapPageRange counts it) and this mm's TLB
   * flushed at once, whichever process cut the file. unmapPageRange itself is not used: this
   * zap leaves private COW copies and uffd-wp markers, which unmap_page_range would drop.
   */
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
          this.pagesZapped++;
          this.pt.dropIfEmpty(e);
        }
        this.tlb.finish();
        continue;
      }
      this.pt.forEachPte(start, end, (addr, pfn) => {
        if (pfn > 0 && !(this.frames.flags(pfn) & FRAME_ANON)) {
          this.dropPte(addr, pfn);
          this.tlb.gather(1);
          this.pagesZapped++;
        }
      });
      this.tlb.finish();
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
    this.vmas.check();
    let rssAnon = 0;
    let rssShmem = 0;
    let anonHuge = 0;
    for (const e of this.pt.pmds.values()) {
      if (e.huge !== 0) {
        const v = this.vmas.find(e.base);
        if (!v || v.end < e.base + PMD_SIZE) throw new Error(`huge PMD outside a VMA at ${e.base.toString(16)}`);
        if (e.huge > 0 && !e.hugetlb) {
          rssAnon += HPAGE_PMD_NR;
          anonHuge++;
        }
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
    if (anonHuge !== this.anonHugePmds) throw new Error(`anonHugePmds ${this.anonHugePmds} but page tables map ${anonHuge} THPs`);
    if (rssAnon !== this.rssAnon || rssShmem !== this.rssShmem) {
      throw new Error(`RSS counters ${this.rssAnon}/${this.rssShmem} but page tables map ${rssAnon}/${rssShmem}`);
    }
  }
}

/** A copy of a counter array long enough to index nr. */
function growTo(a: Float64Array, nr: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(nr + 1, a.length * 2));
  b.set(a);
  return b;
}
