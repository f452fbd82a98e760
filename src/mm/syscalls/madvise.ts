// madvise(2): do_madvise and madvise_walk_vmas (mm/madvise.c). Per-VMA advice is applied to
// each VMA in the range; a hole does not stop the walk but makes the call fail with ENOMEM.
import { FRAME_ANON, FRAME_LAZYFREE, FRAME_THP, folioHead, ZERO_PFN } from '../frames.js';
import type { Mm } from '../mm.js';
import { PTE_GUARD, PTE_NONE, type PmdEntry } from '../page-table.js';
import type { ShmemFile } from '../shmem.js';
import { madviseCollapse, splitFolio, splitHugePmd } from '../thp.js';
import * as U from '../uapi.js';
import { Errno, modPow2, pageAligned, PAGE_SIZE, pageAlignUp, sizeT } from '../uapi.js';
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_PFNMAP,
  VM_SHARED,
  VM_SPECIAL,
  VM_UFFD_FLAGS,
  VM_WIPEONFORK,
  VM_WRITE,
  VM_READ,
  VM_EXEC,
  type Vma,
} from '../vma.js';
import { populateRange } from './mmap.js';
import { unmapPageRange } from '../memory.js';
import { modifyRange } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_MADVISE = syscallNr('madvise');

/** Advice that changes vm_flags, and so takes mmap_lock for writing (madvise_need_mmap_write). */
const FLAG_ADVICE: Record<number, [set: number, clear: number]> = {
  [U.MADV_NORMAL]: [0, VM_RAND_READ | VM_SEQ_READ],
  [U.MADV_RANDOM]: [VM_RAND_READ, VM_SEQ_READ],
  [U.MADV_SEQUENTIAL]: [VM_SEQ_READ, VM_RAND_READ],
  [U.MADV_DONTFORK]: [VM_DONTCOPY, 0],
  [U.MADV_DOFORK]: [0, VM_DONTCOPY],
  [U.MADV_DONTDUMP]: [VM_DONTDUMP, 0],
  [U.MADV_DODUMP]: [0, VM_DONTDUMP],
  [U.MADV_WIPEONFORK]: [VM_WIPEONFORK, 0],
  [U.MADV_KEEPONFORK]: [0, VM_WIPEONFORK],
  [U.MADV_HUGEPAGE]: [VM_HUGEPAGE, VM_NOHUGEPAGE],
  [U.MADV_NOHUGEPAGE]: [VM_NOHUGEPAGE, VM_HUGEPAGE],
  [U.MADV_MERGEABLE]: [VM_MERGEABLE, 0],
  [U.MADV_UNMERGEABLE]: [0, VM_MERGEABLE],
};

/** Advice served page by page under mmap_lock for reading, or under a per-VMA lock. */
const READ_ADVICE = new Set([
  U.MADV_WILLNEED,
  U.MADV_DONTNEED,
  U.MADV_DONTNEED_LOCKED,
  U.MADV_FREE,
  U.MADV_REMOVE,
  U.MADV_COLD,
  U.MADV_PAGEOUT,
  U.MADV_POPULATE_READ,
  U.MADV_POPULATE_WRITE,
  U.MADV_COLLAPSE,
  U.MADV_GUARD_INSTALL,
  U.MADV_GUARD_REMOVE,
]);

export function sysMadvise(mm: Mm, addr: number, length: number, advice: number): void {
  mm.countSyscall(NR_MADVISE);
  addr = sizeT(addr);
  length = sizeT(length);
  if (!(advice in FLAG_ADVICE) && !READ_ADVICE.has(advice)) throw new Errno('EINVAL', `unknown advice ${advice}`);
  // madvise_behavior_valid: advice the kernel was built or released without
  const k = mm.kernel.settings;
  if (!k.guardRegions && (advice === U.MADV_GUARD_INSTALL || advice === U.MADV_GUARD_REMOVE)) throw new Errno('EINVAL', 'no guard regions (Linux < 6.13)');
  if (!k.ksm && (advice === U.MADV_MERGEABLE || advice === U.MADV_UNMERGEABLE)) throw new Errno('EINVAL', 'no CONFIG_KSM');
  if (!pageAligned(addr)) throw new Errno('EINVAL', 'unaligned address');
  const len = pageAlignUp(length);
  if (length && !len) throw new Errno('EINVAL');
  const end = addr + len;
  if (end >= 2 ** 64) throw new Errno('EINVAL', 'range wraps around'); // end < start in 64 bits
  if (end === addr) return;
  takeLock(mm, addr, end, advice);
  if (advice === U.MADV_POPULATE_READ || advice === U.MADV_POPULATE_WRITE) {
    return populate(mm, addr, end, advice === U.MADV_POPULATE_WRITE);
  }
  // madvise_walk_vmas: apply to each VMA; remember a hole and report it at the end
  let hole = false;
  let at = addr;
  let vma = mm.vmas.findFrom(addr);
  if (!vma || vma.start >= end) throw new Errno('ENOMEM', 'range not mapped');
  while (vma && vma.start < end && at < end) {
    if (vma.start > at) hole = true;
    const s = Math.max(at, vma.start);
    const e = Math.min(end, vma.end);
    const next = adviseVma(mm, vma, s, e, advice);
    at = e;
    vma = next.end > at ? next : next.next;
  }
  if (hole || at < end) throw new Errno('ENOMEM', 'hole in range');
}

/** Which lock Linux 6.18 takes for this advice over this range (../shared/kernel-oracle/locks.md). */
function takeLock(mm: Mm, start: number, end: number, advice: number): void {
  if (advice in FLAG_ADVICE) return mm.lock.write();
  if (advice === U.MADV_DONTNEED || advice === U.MADV_DONTNEED_LOCKED || advice === U.MADV_FREE) {
    // madvise_lock: a range inside one VMA is served under that VMA's lock, unless the VMA is
    // registered with userfaultfd (the monitor must hear of the removal under mmap_lock)
    const v = mm.vmas.find(start);
    if (v && v.end >= end && !(v.flags & VM_UFFD_FLAGS)) return mm.lock.vma();
  }
  mm.lock.read();
}

/** Apply advice to [start, end) of vma; returns the VMA now covering the range, or throws Errno (the walk stops there). */
function adviseVma(mm: Mm, vma: Vma, start: number, end: number, advice: number): Vma {
  const flagChange = FLAG_ADVICE[advice];
  if (flagChange) {
    const [set, clear] = flagChange;
    if (advice === U.MADV_WIPEONFORK && (vma.file || vma.flags & VM_SHARED)) throw new Errno('EINVAL');
    if ((advice === U.MADV_HUGEPAGE || advice === U.MADV_NOHUGEPAGE) && vma.flags & VM_SPECIAL) return vma;
    // ksm_madvise leaves a VMA KSM cannot work on as it is, without an error (vma_ksm_compatible)
    if (advice === U.MADV_MERGEABLE && vma.flags & (VM_SHARED | VM_MAYSHARE | VM_SPECIAL | VM_HUGETLB)) return vma;
    return modifyRange(mm, vma, start, end, (p) => {
      p.flags = (p.flags & ~clear) | set;
    });
  }
  switch (advice) {
    case U.MADV_DONTNEED:
    case U.MADV_DONTNEED_LOCKED:
      if (vma.flags & VM_PFNMAP || (vma.flags & VM_LOCKED && advice === U.MADV_DONTNEED)) {
        throw new Errno('EINVAL');
      }
      if (vma.flags & VM_HUGETLB) {
        // madvise_dontneed_free_valid_vma: whole huge pages; the end is rounded down
        if (modPow2(start, U.PMD_SIZE)) throw new Errno('EINVAL');
        end = Math.floor(end / U.PMD_SIZE) * U.PMD_SIZE;
        if (end <= start) return vma;
      }
      if (uffdRemove(mm, vma, start, end)) mm.lock.read();
      unmapPageRange(mm, start, end);
      // page-table reclaim (CONFIG_PT_RECLAIM, zap_pte_range): a PTE table the call emptied
      // whole, its 2 MiB block wholly in the range, is freed; smaller calls leave tables
      mm.pt.freeEmptyTables(start, end);
      return vma;
    case U.MADV_FREE:
      if (vma.flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) throw new Errno('EINVAL');
      // madvise_dontneed_free tells userfaultfd (UFFD_EVENT_REMOVE) before madvise_free_single_vma
      // refuses memory that is not anonymous
      if (uffdRemove(mm, vma, start, end)) mm.lock.read();
      if (vma.file || vma.flags & VM_SHARED) throw new Errno('EINVAL');
      lazyFree(mm, vma, start, end);
      return vma;
    case U.MADV_REMOVE: {
      if (vma.flags & VM_LOCKED || !vma.file) throw new Errno('EINVAL');
      if (!(vma.flags & VM_SHARED)) throw new Errno('EACCES');
      uffdRemove(mm, vma, start, end); // the lock it may drop is dropped for fallocate anyway
      (vma.file as ShmemFile).punch(mm.frames, vma.pgoffOf(start), vma.pgoffOf(end));
      mm.lock.read(); // madvise_remove drops mmap_lock around vfs_fallocate and takes it again
      return vma;
    }
    case U.MADV_COLLAPSE: {
      const r = madviseCollapse(mm, vma, start, end);
      if (r) throw new Errno(r);
      return vma;
    }
    case U.MADV_GUARD_INSTALL:
      // is_valid_guard_vma: since Linux 6.15 file and shmem mappings take guards too
      if (vma.flags & (VM_SPECIAL | VM_HUGETLB | VM_LOCKED)) throw new Errno('EINVAL');
      // madvise_guard_install prepares an anonymous VMA's anon_vma (markers make the range
      // non-empty for fork), so it no longer merges with a neighbour holding a different one
      if (vma.isAnonymous) mm.anonVmaPrepare(vma);
      installGuards(mm, start, end);
      return vma;
    case U.MADV_GUARD_REMOVE:
      if (vma.flags & (VM_SPECIAL | VM_HUGETLB)) throw new Errno('EINVAL');
      mm.pt.forEachPte(start, end, (a, v) => {
        if (v === PTE_GUARD) mm.pt.clearPte(a);
      });
      return vma;
    case U.MADV_COLD:
    case U.MADV_PAGEOUT:
      if (vma.flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) throw new Errno('EINVAL'); // can_madv_lru_vma
      coldOrPageout(mm, vma, start, end, advice === U.MADV_PAGEOUT);
      return vma;
    default:
      // WILLNEED: no readahead to model; accepted as Linux does
      return vma;
  }
}

/**
 * MADV_FREE: present anonymous pages become lazily freeable; they stay mapped until reclaim. A THP
 * only partly in the range is split, folio and all, so that only the advised pages are freed
 * (madvise_free_huge_pmd for a PMD mapping, madvise_free_pte_range for a PTE-mapped one); the
 * split maps its zero-filled subpages to the zero page (splitFolio).
 */
function lazyFree(mm: Mm, vma: Vma, start: number, end: number): void {
  splitPartialThps(mm, vma, start, end);
  for (const e of mm.pt.pmdsIn(start, end)) {
    if (e.huge > 0) {
      for (let i = 0; i < U.HPAGE_PMD_NR; i++) mm.frames.setFlags(e.huge + i, FRAME_LAZYFREE);
      mm.kernel.count('pglazyfree', U.HPAGE_PMD_NR);
    }
  }
  mm.pt.forEachPte(start, end, (_a, v) => {
    if (v > 0 && v !== ZERO_PFN && mm.frames.flags(v) & FRAME_ANON) {
      mm.frames.setFlags(v, FRAME_LAZYFREE);
      mm.kernel.count('pglazyfree');
      mm.tlb.gather(1); // the dirty bit is cleared: the entry is flushed
    }
  });
}

/**
 * MADV_COLD and MADV_PAGEOUT (madvise_cold_or_pageout_pte_range): THPs only partly in the range
 * are split as MADV_FREE splits them. Pageout then reclaims what reclaim can without swap
 * (shrink_folio_list): clean lazily-freed anonymous pages are discarded; page-cache pages (shmem,
 * shared anonymous) are unmapped, and stay in the cache since writeout has no swap to go to;
 * other anonymous pages stay mapped. A page mapped more than once is left alone
 * (folio_maybe_mapped_shared: "do not interfere with other mappings").
 */
function coldOrPageout(mm: Mm, vma: Vma, start: number, end: number, pageout: boolean): void {
  splitPartialThps(mm, vma, start, end);
  if (!pageout) return;
  const reclaimable = (pfn: number) => {
    const f = mm.frames.flags(pfn) & (FRAME_ANON | FRAME_LAZYFREE);
    // a page-cache page holds one reference for the cache, one per mapping
    if (mm.frames.refs(pfn) !== (f & FRAME_ANON ? 1 : 2)) return false;
    return f === (FRAME_ANON | FRAME_LAZYFREE) || !(f & FRAME_ANON);
  };
  for (const e of mm.pt.pmdsIn(start, end)) {
    if (e.huge > 0 && !e.hugetlb && reclaimable(e.huge)) unmapPageRange(mm, e.base, e.base + U.PMD_SIZE);
  }
  mm.pt.forEachPte(start, end, (a, v) => {
    if (v > 0 && v !== ZERO_PFN && reclaimable(v)) unmapPageRange(mm, a, a + PAGE_SIZE);
  });
}

/** Split every THP, PMD- or PTE-mapped, that the range covers only in part (split_folio). */
function splitPartialThps(mm: Mm, vma: Vma, start: number, end: number): void {
  for (const e of mm.pt.pmdsIn(start, end)) {
    if (e.huge > 0 && (e.base < start || e.base + U.PMD_SIZE > end)) {
      splitHugePmd(mm, e);
      splitFolio(mm, vma, Math.max(start, e.base));
    }
  }
  let whole = -1; // head frame of the last folio found mapped whole in the range
  mm.pt.forEachPte(start, end, (a, v, e, i) => {
    if (v <= 0 || v === ZERO_PFN || !(mm.frames.flags(v) & FRAME_THP)) return;
    const head = folioHead(v);
    if (head === whole) return;
    if (wholeFolioIn(mm, e, head, start, end)) whole = head;
    else splitFolio(mm, vma, a);
  });
}

/**
 * Whether the PTE-mapped large folio of head frame `head` is mapped whole, in order, by e's table
 * and that table lies in [start, end) (madvise_*_pte_range: folio_pte_batch covers folio_nr_pages).
 */
function wholeFolioIn(mm: Mm, e: PmdEntry, head: number, start: number, end: number): boolean {
  if (e.base < start || e.base + U.PMD_SIZE > end) return false;
  const t = e.pte!;
  for (let k = 0; k < U.HPAGE_PMD_NR; k++) if (t[k] !== head + k || !(mm.frames.flags(t[k]) & FRAME_THP)) return false;
  return true;
}

/**
 * userfaultfd_remove: UFFD_EVENT_REMOVE for a registered range. True when the event went out, in
 * which case mmap_lock was dropped while the monitor was told, and madvise takes it back.
 */
function uffdRemove(mm: Mm, vma: Vma, start: number, end: number): boolean {
  return (vma.flags & VM_UFFD_FLAGS) !== 0 && (mm.userfault?.remove?.(vma, start, end) ?? false);
}

/** MADV_GUARD_INSTALL: zap what is there and leave a guard marker in every PTE. */
function installGuards(mm: Mm, start: number, end: number): void {
  for (let a = start; a < end; a += PAGE_SIZE) {
    const v = mm.pt.pte(a);
    if (v === PTE_GUARD) continue;
    const e = mm.pt.pmd(a);
    if ((e && e.huge !== 0) || (v !== PTE_NONE && v !== PTE_GUARD)) unmapPageRange(mm, a, a + PAGE_SIZE);
    mm.pt.setPte(a, PTE_GUARD);
  }
}

/** MADV_POPULATE_READ/WRITE: fault in the whole range; a hole is ENOMEM, a failed fault EFAULT. */
function populate(mm: Mm, start: number, end: number, write: boolean): void {
  for (let at = start; at < end; ) {
    const vma = mm.vmas.find(at);
    if (!vma) throw new Errno('ENOMEM', 'hole in range');
    const e = Math.min(end, vma.end);
    // check_vma_flags: incompatible mappings and permissions are EINVAL; failed faults EFAULT
    if (vma.flags & (VM_PFNMAP | VM_SPECIAL)) throw new Errno('EINVAL');
    if (write ? !(vma.flags & VM_WRITE) : !(vma.flags & (VM_READ | VM_WRITE | VM_EXEC))) throw new Errno('EINVAL');
    if (populateRange(mm, at, e, write) < e) throw new Errno('EFAULT');
    at = e;
  }
}
