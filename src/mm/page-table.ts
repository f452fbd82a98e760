// A sparse two-level page table: a map from PMD index to a PMD entry, which either maps a 2 MiB
// THP (or the huge zero page) directly or points to a table of 512 PTEs held in typed arrays.
// Untouched memory has no entry at all, so a 1 TiB reservation costs nothing.
import { HPAGE_PMD_NR, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE } from './uapi.js';

/** PTE values: 0 is none, positive is a frame number, negative a PTE marker. */
export const PTE_NONE = 0;
/** PTE_MARKER_GUARD: MADV_GUARD_INSTALL (mm/madvise.c); access raises SIGSEGV. */
export const PTE_GUARD = -1;
/** PTE_MARKER_POISONED: UFFDIO_POISON; access raises SIGBUS (BUS_MCEERR_AR). */
export const PTE_POISON = -2;
/** PTE_MARKER_UFFD_WP: a write-protected none PTE (UFFD_FEATURE_WP_UNPOPULATED). */
export const PTE_WP_MARKER = -3;

/** Per-PTE software bits kept beside the frame numbers. */
export const PTEF_UFFD_WP = 1;
/**
 * The kernel installed this PTE outside a fault (an mfill ioctl, UFFDIO_MOVE, mremap) and nothing
 * has accessed it since. Not a Linux bit: free on bare metal and with nested paging, the first
 * access is a trap into the hypervisor in a shadow-paging guest (Mm.firstTouches, priced by the
 * profile's costs).
 */
export const PTEF_UNTOUCHED = 2;

/** PmdEntry.huge for the huge zero page. */
export const HUGE_ZERO = -1;

export class PmdEntry {
  /** 0: not a leaf (see pte); >0: head frame of a PMD-mapped THP; HUGE_ZERO. */
  huge = 0;
  /** uffd-wp bit of a huge PMD. */
  hugeFlags = 0;
  /** The PMD maps a hugetlbfs page: it belongs to the file's page cache, not to RSS or THP counts. */
  hugetlb = false;
  pte: Int32Array | null = null;
  pteFlags: Uint8Array | null = null;
  /** Entries of pte that are not none (markers count). */
  used = 0;

  constructor(readonly index: number) {}

  get base(): number {
    return this.index * PMD_SIZE;
  }

  table(): Int32Array {
    if (!this.pte) {
      const t = tablePool.pop();
      this.pte = t ? t[0] : new Int32Array(HPAGE_PMD_NR);
      this.pteFlags = t ? t[1] : new Uint8Array(HPAGE_PMD_NR);
    }
    return this.pte;
  }
}

/** Emptied PTE tables, all zero, kept for reuse: allocating typed arrays costs more than a fault. */
const tablePool: [Int32Array, Uint8Array][] = [];
const TABLE_POOL_MAX = 4096;

export function pmdIndex(addr: number): number {
  return Math.floor(addr / PMD_SIZE);
}

export function pteIndex(addr: number): number {
  return Math.floor(addr / PAGE_SIZE) & (HPAGE_PMD_NR - 1);
}

export class PageTable {
  readonly pmds = new Map<number, PmdEntry>();
  /** PTE tables allocated (pte_alloc) and freed (pte_free_tlb): work the cost model prices. */
  tablesAllocated = 0;
  tablesFreed = 0;
  /**
   * Whether any PMD entry has ever mapped a huge page (a THP, the huge zero page, a hugetlbfs
   * page): until one has, no VMA boundary can cut through a PMD mapping and splitHugeAt need not
   * look (two lookups on every munmap of a heap of small mappings).
   */
  hugeEver = false;

  /** Make e a PMD mapping of the huge page at head (every PMD mapping is made here). */
  mapHuge(e: PmdEntry, head: number): void {
    e.huge = head;
    this.hugeEver = true;
  }

  /**
   * Memory the kernel's page tables would take: a 4 KiB PTE page per PMD entry that has one, and
   * a 4 KiB page per PMD table (1 GiB) and PUD table (512 GiB) with any entry below.
   */
  bytes(): number {
    let ptes = 0;
    const pmdTables = new Set<number>();
    const pudTables = new Set<number>();
    for (const e of this.pmds.values()) {
      if (e.pte) ptes++;
      pmdTables.add(Math.floor(e.index / 512));
      pudTables.add(Math.floor(e.index / (512 * 512)));
    }
    return (ptes + pmdTables.size + pudTables.size) * PAGE_SIZE;
  }

  pmd(addr: number): PmdEntry | undefined {
    return this.pmds.get(pmdIndex(addr));
  }

  pmdAlloc(addr: number): PmdEntry {
    const i = pmdIndex(addr);
    let e = this.pmds.get(i);
    if (!e) {
      e = new PmdEntry(i);
      this.pmds.set(i, e);
    }
    return e;
  }

  /** The PTE value at addr (frame, marker or none); a huge PMD answers 0 here. */
  pte(addr: number): number {
    const e = this.pmds.get(pmdIndex(addr));
    return e && e.pte ? e.pte[pteIndex(addr)] : PTE_NONE;
  }

  /** pte_alloc: the entry's PTE table, allocated if it has none. */
  pteAlloc(e: PmdEntry): Int32Array {
    if (!e.pte) this.tablesAllocated++;
    return e.table();
  }

  setPte(addr: number, value: number, flags = 0): void {
    const e = this.pmdAlloc(addr);
    const t = this.pteAlloc(e);
    const i = pteIndex(addr);
    if (t[i] === PTE_NONE && value !== PTE_NONE) e.used++;
    else if (t[i] !== PTE_NONE && value === PTE_NONE) e.used--;
    t[i] = value;
    e.pteFlags![i] = flags;
    this.dropIfEmpty(e);
  }

  /** Clear the PTE and return what it held. */
  clearPte(addr: number): number {
    const e = this.pmds.get(pmdIndex(addr));
    if (!e || !e.pte) return PTE_NONE;
    const i = pteIndex(addr);
    const v = e.pte[i];
    if (v !== PTE_NONE) {
      e.pte[i] = PTE_NONE;
      e.pteFlags![i] = 0;
      e.used--;
      this.dropIfEmpty(e);
    }
    return v;
  }

  /**
   * Forget a PMD entry that maps nothing and has no PTE table (pmd_none). A PTE table, once
   * allocated, stays even when emptied, as in Linux: only freePteTable takes it away (munmap's
   * free_pgtables, MADV_DONTNEED's page-table reclaim, a collapse).
   */
  dropIfEmpty(e: PmdEntry): void {
    if (e.used === 0 && e.huge === 0 && !e.pte) this.pmds.delete(e.index);
  }

  /** Free the entry's PTE table, which must be empty, and the entry with it unless it maps a huge page. */
  freePteTable(e: PmdEntry): void {
    if (e.used !== 0 || !e.pte) return;
    this.tablesFreed++;
    this.dropTable(e);
  }

  /**
   * pgtable_trans_huge_deposit: a collapse keeps the emptied PTE table beside the new PMD mapping
   * (collapse_huge_page), to be withdrawn if the PMD is split: not freed, so not counted.
   */
  depositPteTable(e: PmdEntry): void {
    if (e.used !== 0 || !e.pte) return;
    this.dropTable(e);
  }

  private dropTable(e: PmdEntry): void {
    if (!e.pte) return;
    if (tablePool.length < TABLE_POOL_MAX) {
      e.pte.fill(0);
      e.pteFlags!.fill(0);
      tablePool.push([e.pte, e.pteFlags!]);
    }
    e.pte = null;
    e.pteFlags = null;
    this.dropIfEmpty(e);
  }

  /** Hand `from`'s PTE table to `to`, which has none (move_normal_pmd). */
  moveTable(from: PmdEntry, to: PmdEntry): void {
    to.pte = from.pte;
    to.pteFlags = from.pteFlags;
    to.used = from.used;
    from.pte = null;
    from.pteFlags = null;
    from.used = 0;
    this.dropIfEmpty(from);
  }

  /** Free the empty PTE tables of the 2 MiB blocks that lie wholly in [start, end). */
  freeEmptyTables(start: number, end: number): void {
    if (end - start < PMD_SIZE) return;
    for (const e of this.pmdsIn(start, end)) {
      if (e.base >= start && e.base + PMD_SIZE <= end) this.freePteTable(e);
    }
  }

  /**
   * The PMD entries that overlap [start, end), in address order. Sparse: it walks whichever is
   * smaller, the indices of the range or the entries that exist.
   */
  pmdsIn(start: number, end: number): PmdEntry[] {
    const lo = pmdIndex(start);
    const hi = pmdIndex(end - 1);
    const out: PmdEntry[] = [];
    if (hi - lo + 1 <= this.pmds.size * 2) {
      for (let i = lo; i <= hi; i++) {
        const e = this.pmds.get(i);
        if (e) out.push(e);
      }
    } else {
      for (const e of this.pmds.values()) if (e.index >= lo && e.index <= hi) out.push(e);
      out.sort((a, b) => a.index - b.index);
    }
    return out;
  }

  /**
   * Visit every non-none PTE in [start, end) of PTE tables (huge PMDs are not visited here):
   * fn(addr, value, entry, index).
   */
  forEachPte(start: number, end: number, fn: (addr: number, v: number, e: PmdEntry, i: number) => void): void {
    for (const e of this.pmdsIn(start, end)) {
      if (!e.pte) continue;
      const base = e.base;
      const i0 = start > base ? (start - base) >> PAGE_SHIFT : 0;
      const i1 = Math.min(HPAGE_PMD_NR, Math.ceil((end - base) / PAGE_SIZE));
      const t = e.pte;
      for (let i = i0; i < i1 && e.pte; i++) if (t[i] !== PTE_NONE) fn(base + i * PAGE_SIZE, t[i], e, i);
    }
  }
}
