// Transparent huge pages: splitting a PMD mapping into PTEs (mm/huge_memory.c), which VMAs may
// have them (thp_vma_allowable_order), collapsing 512 small PTEs into one PMD mapping, shared by
// MADV_COLLAPSE and khugepaged (mm/khugepaged.c: hpage_collapse_scan_pmd, collapse_huge_page),
// and splitting a folio.
import { FRAME_ANON, FRAME_THP, folioHead, ZERO_PFN } from './frames.js';
import type { Mm } from './mm.js';
import { unmapPageRange, ZAP_DROP_GUARDS } from './memory.js';
import { HUGE_ZERO, type PmdEntry, PTE_NONE, PTEF_UFFD_WP, pteIndex } from './page-table.js';
import { ErrnoName, HPAGE_PMD_NR, modPow2, PAGE_SIZE, PMD_SIZE } from './uapi.js';
import { VM_HUGEPAGE, VM_HUGETLB, VM_LOCKED, VM_NOHUGEPAGE, VM_UFFD_FLAGS, VM_WRITE, type Vma } from './vma.js';

/**
 * __split_huge_pmd: turn a PMD mapping into 512 PTEs (the huge zero page becomes 512 zero-page
 * PTEs). The frames stay where they are; only the mapping changes, into the PTE table deposited
 * when the THP was mapped (so no table is counted as allocated).
 */
export function splitHugePmd(mm: Mm, e: PmdEntry): void {
  if (e.huge === 0) return;
  const t = e.table();
  const wp = e.hugeFlags & PTEF_UFFD_WP;
  if (e.huge === HUGE_ZERO) {
    t.fill(ZERO_PFN);
  } else {
    mm.anonHugePmds--;
    // the folio stays compound (FRAME_THP) until something splits it: splitFolio
    for (let i = 0; i < HPAGE_PMD_NR; i++) t[i] = e.huge + i;
  }
  e.pteFlags!.fill(wp);
  e.used = HPAGE_PMD_NR;
  e.huge = 0;
  e.hugeFlags = 0;
  mm.tlb.gather(1);
  mm.kernel.count('thp_split_pmd');
}

/** vma_adjust_trans_huge: a VMA boundary at addr must not cut through a PMD mapping. */
export function splitHugeAt(mm: Mm, addr: number): void {
  if (!mm.pt.hugeEver || modPow2(addr, PMD_SIZE) === 0) return;
  const e = mm.pt.pmd(addr);
  if (e && e.huge !== 0) splitHugePmd(mm, e);
}

/** Whether the VMA has room for at least one aligned 2 MiB block (thp_vma_suitable_order). */
export function vmaHasHugeBlock(vma: Vma): boolean {
  // thp_vma_suitable_order: a file VMA's offset in the file must line up with its address too
  if (vma.file && (vma.start / PAGE_SIZE - vma.pgoff) % HPAGE_PMD_NR !== 0) return false;
  return Math.ceil(vma.start / PMD_SIZE) * PMD_SIZE + PMD_SIZE <= vma.end;
}

/** Who asks thp_vma_allowable_order (Linux 6.18's enum tva_type). */
export type TvaType = 'smaps' | 'pagefault' | 'khugepaged' | 'forced_collapse';

/**
 * THP policy for a VMA (thp_vma_allowable_order). For faults, khugepaged and smaps the sysfs mode
 * decides (madvise mode needs MADV_HUGEPAGE); MADV_COLLAPSE (forced_collapse) ignores the mode but
 * not MADV_NOHUGEPAGE. Only private anonymous memory gets THPs in this simulator.
 */
export function thpAllowed(mm: Mm, vma: Vma, type: TvaType): boolean {
  if (!vma.isAnonymous || vma.isShared) return false;
  if (vma.flags & VM_NOHUGEPAGE) return false;
  if (type === 'forced_collapse') return true;
  const mode = mm.kernel.settings.thpEnabled;
  if (mode === 'never') return false;
  if (mode === 'madvise' && !(vma.flags & VM_HUGEPAGE)) return false;
  return true;
}

/** Whether a fault at addr may be served with a PMD mapping. */
export function thpFaultEligible(mm: Mm, vma: Vma, addr: number): boolean {
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  return haddr >= vma.start && haddr + PMD_SIZE <= vma.end && thpAllowed(mm, vma, 'pagefault');
}

/** The result of scanning one block for collapse: null on success, else the errno MADV_COLLAPSE gives. */
export type CollapseResult = null | ErrnoName;

/**
 * Collapse the aligned block at haddr (wholly inside vma) into a THP. khugepaged limits empty
 * PTEs by max_ptes_none; MADV_COLLAPSE fills any number of them, except that neither fills an
 * empty or zero-page PTE in a userfaultfd-armed VMA (the monitor expects to see it missing),
 * which MADV_COLLAPSE reports as EBUSY (madvise_collapse_errno: SCAN_EXCEED_NONE_PTE).
 */
export function collapseBlock(mm: Mm, vma: Vma, haddr: number, by: 'khugepaged' | 'madvise'): CollapseResult {
  const e = mm.pt.pmd(haddr);
  if (e && e.huge > 0) return null; // SCAN_PMD_MAPPED: already a THP
  if (!e || !e.pte) return 'EINVAL'; // SCAN_PMD_NULL
  const armed = (vma.flags & VM_UFFD_FLAGS) !== 0;
  const frames = mm.frames;
  let noneOrZero = 0;
  let writable = false;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const v = e.pte[i];
    if (v === PTE_NONE || v === ZERO_PFN) {
      noneOrZero++;
      if (armed || (by === 'khugepaged' && noneOrZero > mm.kernel.settings.khugepagedMaxPtesNone)) return 'EBUSY';
      continue;
    }
    if (v < 0) return 'EINVAL'; // SCAN_PTE_NON_PRESENT: a guard or poison marker
    if (e.pteFlags![i] & PTEF_UFFD_WP) return 'EINVAL'; // SCAN_PTE_UFFD_WP
    if (!(frames.flags(v) & FRAME_ANON)) return 'EINVAL';
    if (vma.flags & VM_WRITE) writable = true;
  }
  if (!writable) return 'EINVAL'; // SCAN_PAGE_RO
  const head = frames.allocHuge(FRAME_ANON);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const v = e.pte[i];
    if (v > 0 && v !== ZERO_PFN) frames.copy(head + i, v);
  }
  unmapPageRange(mm, haddr, haddr + PMD_SIZE, ZAP_DROP_GUARDS); // gathers the 512 entries for one flush
  mm.pt.depositPteTable(e); // the PMD now maps the THP in the table's place
  mm.installHugePmd(haddr, head);
  mm.kernel.count('thp_collapse_alloc');
  return null;
}

/** MADV_COLLAPSE over [start, end) of one VMA. Returns the last failure, as madvise_collapse does. */
export function madviseCollapse(mm: Mm, vma: Vma, start: number, end: number): CollapseResult {
  const hstart = Math.ceil(start / PMD_SIZE) * PMD_SIZE;
  const hend = Math.floor(end / PMD_SIZE) * PMD_SIZE;
  if (vma.file && !(vma.flags & (VM_HUGETLB | VM_NOHUGEPAGE)) && vmaHasHugeBlock(vma)) {
    // shmem: forced collapse is allowed, but page-cache THPs are not modelled, so only a range
    // holding no whole block (where Linux does nothing) answers as Linux does; a block is EINVAL
    return hstart === hend ? null : 'EINVAL';
  }
  if (!thpAllowed(mm, vma, 'forced_collapse') || !vmaHasHugeBlock(vma)) return 'EINVAL';
  // __thp_vma_allowable_orders allows no order to an anonymous VMA without an anon_vma outside
  // a page fault (or smaps): collapsing a VMA that never had a page is EINVAL
  if (vma.isAnonymous && !vma.anonVma) return 'EINVAL';
  // madvise_collapse compares the blocks it collapsed with (hend - hstart) >> PMD_SHIFT in
  // unsigned arithmetic: a range inside one block that does not start on its boundary makes
  // hstart > hend, the count wraps, and the call fails with EINVAL having done nothing (an
  // aligned start gives hstart == hend and success)
  if (hstart > hend) return 'EINVAL';
  let last: CollapseResult = null;
  for (let a = hstart; a < hend; a += PMD_SIZE) {
    const wasHuge = (mm.pt.pmd(a)?.huge ?? 0) > 0;
    const r = collapseBlock(mm, vma, a, 'madvise');
    if (r) last = r;
    else if (!wasHuge) {
      // collapse_huge_page drops mmap_lock to allocate, revalidates under it for reading, takes it
      // for writing to swap the PMD, and madvise_collapse relocks it for reading to go on
      mm.lock.read();
      mm.lock.write();
      mm.lock.read();
    }
  }
  return last;
}

/**
 * split_folio of the PTE-mapped anonymous THP whose subpage is mapped at addr (the PMD mapping
 * must already be split): its 512 subpages become small folios, and since Linux 6.12 every
 * subpage that holds only zeroes is remapped to the shared zero page and freed
 * (try_to_map_unused_to_zeropage, called through remap_page with RMP_USE_SHARED_ZEROPAGE), not
 * in a VM_LOCKED VMA; the uffd-wp bit stays. So a THP with a few written pages shrinks from 2 MiB
 * of RSS to those pages. Subpages are looked for in addr's page table only, where a split PMD
 * leaves them (one mremapped elsewhere keeps its frame). Returns whether a folio was split.
 */
export function splitFolio(mm: Mm, vma: Vma, addr: number): boolean {
  const e = mm.pt.pmd(addr);
  if (!e || !e.pte) return false;
  const frames = mm.frames;
  const v = e.pte[pteIndex(addr)];
  if (v <= 0 || v === ZERO_PFN || (frames.flags(v) & (FRAME_THP | FRAME_ANON)) !== (FRAME_THP | FRAME_ANON)) return false;
  const head = folioHead(v);
  const remap = !(vma.flags & VM_LOCKED);
  let unmapped = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = e.pte[i];
    if (p <= 0 || folioHead(p) !== head || !(frames.flags(p) & FRAME_THP)) continue;
    unmapped++; // unmap_folio replaces every mapping with a migration entry, then remaps
    if (remap && frames.isZero(p)) mm.installPte(e.base + i * PAGE_SIZE, ZERO_PFN, e.pteFlags![i] & PTEF_UFFD_WP);
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) if (frames.refs(head + i) > 0) frames.setFlags(head + i, 0, FRAME_THP);
  mm.tlb.gather(unmapped);
  mm.kernel.count('thp_split_page');
  return true;
}
