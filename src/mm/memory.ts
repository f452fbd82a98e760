// Unmapping pages and freeing page tables, as mm/memory.c does it: unmap_page_range,
// free_pgtables, and the page-table walks madvise and mprotect ask about a range.
import { ZERO_PFN } from './frames.js';
import type { Mm } from './mm.js';
import { HUGE_ZERO, type PmdEntry, pmdIndex, PTE_GUARD, PTE_NONE, PTE_WP_MARKER, PTEF_UFFD_WP } from './page-table.js';
import { splitHugePmd } from './thp.js';
import { HPAGE_PMD_NR, PAGE_SIZE, PMD_SIZE } from './uapi.js';

/** unmapPageRange flags (zap_details): munmap also drops guard markers, as the VMA itself goes. */
export const ZAP_DROP_GUARDS = 1;

/**
 * unmap_page_range (what zap_page_range_single and unmap_vmas call): unmap every page in
 * [start, end) and drop the frames' references. Guard markers survive unless ZAP_DROP_GUARDS;
 * poison and uffd-wp markers go. A PMD mapping only partly in the range is split first. Returns
 * the pages freed.
 */
export function unmapPageRange(mm: Mm, start: number, end: number, flags = 0): number {
  if (pmdIndex(start) === pmdIndex(end - 1)) {
    // a range inside one 2 MiB block (most are): no list of entries to build
    const e = mm.pt.pmd(start);
    return e ? zapPmd(mm, e, start, end, flags) : 0;
  }
  let zapped = 0;
  for (const e of mm.pt.pmdsIn(start, end)) zapped += zapPmd(mm, e, start, end, flags);
  return zapped;
}

/**
 * zap_pmd_range for one PMD entry and the part of [start, end) it covers: gathers the entries
 * that were present for the TLB flush and counts them as zapped; returns the pages freed.
 */
function zapPmd(mm: Mm, e: PmdEntry, start: number, end: number, flags: number): number {
  const base = e.base;
  let zapped = 0;
  let present = 0;
  if (e.hugetlb) {
    // a hugetlbfs page stays in its file's page cache: only the mapping goes
    e.huge = 0;
    e.hugetlb = false;
    present++;
  } else if (e.huge !== 0 && base >= start && base + PMD_SIZE <= end) {
    if (e.huge !== HUGE_ZERO) {
      mm.anonHugePmds--;
      mm.rssAnon -= HPAGE_PMD_NR;
      mm.frames.putHuge(e.huge);
      zapped += HPAGE_PMD_NR;
    }
    present++;
    e.huge = 0;
    e.hugeFlags = 0;
  } else {
    if (e.huge !== 0) splitHugePmd(mm, e);
    const t = e.pte;
    if (!t) return 0;
    const i0 = start > base ? (start - base) / PAGE_SIZE : 0;
    const i1 = Math.min(HPAGE_PMD_NR, (end - base) / PAGE_SIZE);
    for (let i = i0; i < i1; i++) {
      const v = t[i];
      if (v === PTE_NONE) continue;
      if (v === PTE_GUARD && !(flags & ZAP_DROP_GUARDS)) continue;
      if (v > 0) {
        mm.releasePage(v);
        if (v !== ZERO_PFN) zapped++;
        present++;
      }
      t[i] = PTE_NONE;
      e.pteFlags![i] = 0;
      e.used--;
    }
  }
  mm.pt.dropIfEmpty(e);
  mm.tlb.gather(present);
  mm.pagesZapped += present;
  return zapped;
}

/**
 * free_pgtables / free_pgd_range after [start, end) was unmapped: free the PTE tables of the
 * 2 MiB blocks the range touches, except a block shared with a VMA still there, which the kernel
 * works out from the neighbours: floor is the end of the VMA before (0 if none), ceiling the
 * start of the VMA after (0 if none: no limit).
 */
export function freePgtables(mm: Mm, start: number, end: number, floor: number, ceiling: number): void {
  let addr = Math.floor(start / PMD_SIZE) * PMD_SIZE;
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling) {
    ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
    if (!ceiling) return;
    if (end > ceiling) end -= PMD_SIZE;
  }
  if (addr >= end) return;
  if (end - addr === PMD_SIZE) {
    const e = mm.pt.pmd(addr);
    if (e) mm.pt.freePteTable(e);
  } else for (const e of mm.pt.pmdsIn(addr, end)) mm.pt.freePteTable(e);
}

/** Present (non-zero) pages in [start, end): what MADV_DONTNEED would free. */
export function presentPages(mm: Mm, start: number, end: number): number {
  let n = 0;
  for (const e of mm.pt.pmdsIn(start, end)) {
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
export function hasWpMarkers(mm: Mm, start: number, end: number): boolean {
  let found = false;
  mm.pt.forEachPte(start, end, (_a, v, e, i) => {
    if (v === PTE_WP_MARKER || e.pteFlags![i] & PTEF_UFFD_WP) found = true;
  });
  return found;
}
