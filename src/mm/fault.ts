// Page faults (mm/memory.c handle_mm_fault and arch/x86/mm/fault.c): resolve an access to a
// frame, or to the signal Linux would raise. User and kernel mode differ only in what a failure
// becomes: a signal for the program, EFAULT for the syscall that touched user memory.
import { FRAME_ANON, FRAME_LAZYFREE, ZERO_PFN } from './frames.js';
import type { Mm } from './mm.js';
import { HUGE_ZERO, type PmdEntry, PTE_GUARD, PTE_POISON, PTE_WP_MARKER, PTEF_UFFD_WP, PTEF_UNTOUCHED, pteIndex } from './page-table.js';
import type { ShmemFile } from './shmem.js';
import { splitHugePmd, thpFaultEligible } from './thp.js';
import { PMD_SIZE, PAGE_SIZE } from './uapi.js';
import { VM_EXEC, VM_READ, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, type Vma } from './vma.js';

/** Fault outcomes: resolvePage returns a frame (> 0) or one of these. */
export const FAULT_SEGV_MAPERR = -1;
export const FAULT_SEGV_ACCERR = -2;
export const FAULT_SIGBUS = -3;
export const FAULT_HWPOISON = -4;
/** A userfaultfd fault no monitor resolved: the thread would sleep forever. */
export const FAULT_HANG = -5;
/**
 * The fault was handled: a page (or the zero page, or a THP) is mapped now, by the handler or by
 * a userfaultfd monitor, and the access looks again. (Not Linux's VM_FAULT_RETRY, which means
 * mmap_lock was dropped; a handler that maps a page returns 0 there.)
 */
export const FAULT_MAPPED = -6;

/** access_error (arch/x86/mm/fault.c): on x86 any of read/write/exec permits a read. */
function accessError(vma: Vma, write: boolean): boolean {
  if (write) return (vma.flags & VM_WRITE) === 0;
  return (vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0;
}

/** Who makes an access: the program (`user`), the kernel copying user memory (`kernel`, as in
 * read()/write()), or get_user_pages under the caller's mmap_lock (`gup`: MADV_POPULATE_*, MAP_POPULATE). */
export type AccessMode = 'user' | 'kernel' | 'gup';

export interface Access {
  readonly write: boolean;
  readonly mode: AccessMode;
}

const ACCESSES: Record<AccessMode, [read: Access, write: Access]> = {
  user: [{ write: false, mode: 'user' }, { write: true, mode: 'user' }],
  kernel: [{ write: false, mode: 'kernel' }, { write: true, mode: 'kernel' }],
  gup: [{ write: false, mode: 'gup' }, { write: true, mode: 'gup' }],
};

/** The (shared, constant) description of an access: nothing is allocated on the fault path. */
export function access(mode: AccessMode, write: boolean): Access {
  return ACCESSES[mode][write ? 1 : 0];
}

/**
 * The frame that backs addr for this access, faulting as needed: a frame number, ZERO_PFN for
 * reads of zero pages, or a negative FAULT_* code. Counts mmap_lock use as Linux 6.18 does: a
 * user fault runs under the per-VMA lock and falls back to mmap_lock for reading when the address
 * has no VMA or the VMA still needs its anon_vma; a kernel-mode fault takes mmap_lock for
 * reading; a GUP fault (`gup`) runs under the mmap_lock its caller holds.
 */
export function resolvePage(mm: Mm, addr: number, how: Access): number {
  const { write, mode } = how;
  const kernel = mode !== 'user';
  const gup = mode === 'gup';
  if (!kernel) return resolve(mm, addr, write, false);
  const saved = mm.lock.faultMode;
  mm.lock.faultMode = gup ? 'gup' : 'kernel';
  try {
    return resolve(mm, addr, write, true);
  } finally {
    mm.lock.faultMode = saved;
  }
}

function resolve(mm: Mm, addr: number, write: boolean, kernel: boolean): number {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt === 1 && mm.trace.page_fault.enabled) mm.trace.page_fault.emit(addr, write); // it faulted
    const vma = mm.vmas.find(addr);
    if (!vma) {
      if (attempt === 0) mm.lock.read();
      mm.faults.sigsegv++;
      return FAULT_SEGV_MAPERR;
    }
    if (accessError(vma, write)) {
      if (attempt === 0) mm.lock.vma();
      mm.faults.sigsegv++;
      return FAULT_SEGV_ACCERR;
    }
    const e = mm.pt.pmd(addr);
    const idx = pteIndex(addr);
    let v = 0;
    let ptef = 0;
    if (e) {
      if (e.huge !== 0) {
        if (!write) return e.huge === HUGE_ZERO ? ZERO_PFN : e.huge + idx;
        if (e.huge > 0 && !(e.hugeFlags & PTEF_UFFD_WP && vma.flags & VM_UFFD_WP)) return e.huge + idx;
        const r = hugeWriteFault(mm, vma, addr, kernel);
        if (r === FAULT_MAPPED) continue;
        return r;
      }
      if (e.pte) {
        v = e.pte[idx];
        ptef = e.pteFlags![idx];
      }
    }
    if (v > 0) {
      // a fault's own figure includes the first touch; an access that does not fault pays it apart
      if (ptef & PTEF_UNTOUCHED) e!.pteFlags![idx] = ptef & ~PTEF_UNTOUCHED;
      if (!write) {
        if (ptef & PTEF_UNTOUCHED) mm.firstTouches++;
        return v;
      }
      const wp = ptef & PTEF_UFFD_WP && vma.flags & VM_UFFD_WP;
      const cow = v === ZERO_PFN || (!vma.isShared && !(mm.frames.flags(v) & FRAME_ANON));
      if (!wp && !cow) {
        if (ptef & PTEF_UNTOUCHED) mm.firstTouches++;
        if (mm.frames.flags(v) & FRAME_LAZYFREE) mm.frames.setFlags(v, 0, FRAME_LAZYFREE);
        return v;
      }
      mm.kernel.count('pgfault');
      const r = wp ? userfault(mm, vma, addr, VM_UFFD_WP, write, kernel) : cowFault(mm, vma, addr, v);
      if (r === FAULT_MAPPED) continue;
      return r;
    }
    mm.kernel.count('pgfault');
    if (v === PTE_GUARD) {
      mm.lock.vma();
      mm.faults.sigsegv++;
      return FAULT_SEGV_MAPERR;
    }
    if (v === PTE_POISON) {
      mm.lock.vma();
      mm.faults.sigbus++;
      return FAULT_HWPOISON;
    }
    if (v === PTE_WP_MARKER && write && vma.flags & VM_UFFD_WP) {
      const r = userfault(mm, vma, addr, VM_UFFD_WP, write, kernel);
      if (r === FAULT_MAPPED) continue;
      return r;
    }
    const r = vma.file ? fileFault(mm, vma, addr, write, kernel) : anonFault(mm, vma, addr, write, kernel, e);
    if (r === FAULT_MAPPED) continue;
    if (r > 0 && mm.trace.page_fault.enabled) mm.trace.page_fault.emit(addr, write); // retried: it faulted
    return r;
  }
  return FAULT_HANG;
}

function userfault(mm: Mm, vma: Vma, addr: number, reason: number, write: boolean, kernel: boolean): number {
  mm.faults.userfault++;
  if (!mm.userfault) return FAULT_SIGBUS;
  return mm.userfault.fault(vma, addr, reason, write, kernel);
}

/**
 * do_anonymous_page / do_huge_pmd_anonymous_page. A new PTE returns its frame, which is what the
 * retried access would find (the retry needs no second walk); a PMD or a userfault returns
 * FAULT_MAPPED or a failure, and the access is retried.
 */
function anonFault(mm: Mm, vma: Vma, addr: number, write: boolean, kernel: boolean, e: PmdEntry | undefined): number {
  if (vma.flags & VM_UFFD_MISSING) {
    // do_anonymous_page prepares the anon_vma for a write before it asks userfaultfd, a read
    // (which would map the zero page) asks first
    if (write && mm.anonVmaPrepare(vma)) mm.lock.read();
    else mm.lock.vma();
    return userfault(mm, vma, addr, VM_UFFD_MISSING, write, kernel);
  }
  if (!e && thpFaultEligible(mm, vma, addr)) {
    // the huge paths prepare the anon_vma even for the huge zero page
    if (mm.anonVmaPrepare(vma)) mm.lock.read();
    else mm.lock.vma();
    if (!write && mm.kernel.settings.thpUseZeroPage && mm.kernel.settings.readFaultZeroPage) {
      mm.kernel.useHugeZero();
      mm.installHugePmd(addr, HUGE_ZERO);
      mm.faults.hugeZero++;
      return FAULT_MAPPED;
    }
    mm.installHugePmd(addr, mm.frames.allocHuge(FRAME_ANON));
    mm.kernel.count('thp_fault_alloc');
    mm.faults.thp++;
    return FAULT_MAPPED;
  }
  // a uffd-wp marker stays as the new entry's wp bit (do_anonymous_page's vmf_orig_pte_uffd_wp)
  const wpBit = !write && e?.pte && e.pte[pteIndex(addr)] === PTE_WP_MARKER ? PTEF_UFFD_WP : 0;
  if (!write && mm.kernel.settings.readFaultZeroPage) {
    mm.lock.vma();
    mm.installPte(addr, ZERO_PFN, wpBit);
    mm.faults.zero++;
    return ZERO_PFN;
  }
  if (mm.anonVmaPrepare(vma)) mm.lock.read();
  else mm.lock.vma();
  const pfn = mm.frames.alloc(FRAME_ANON);
  mm.installPteIn(e ?? mm.pt.pmdAlloc(addr), addr, pfn, wpBit);
  mm.faults.anon++;
  return pfn;
}

/** do_wp_page: a private copy of a zero page or of a file page. */
function cowFault(mm: Mm, vma: Vma, addr: number, old: number): number {
  if (mm.anonVmaPrepare(vma)) mm.lock.read();
  else mm.lock.vma();
  const pfn = mm.frames.alloc(FRAME_ANON);
  if (old !== ZERO_PFN) mm.frames.copy(pfn, old);
  mm.installPte(addr, pfn);
  mm.tlb.gather(1); // the old entry goes: ptep_clear_flush
  mm.faults.cow++;
  return FAULT_MAPPED;
}

/**
 * A write to a PMD mapping that cannot take it: the huge zero page becomes a freshly allocated
 * THP (do_huge_zero_wp_pmd, Linux 6.11+), a uffd-wp protected THP goes to the monitor.
 */
function hugeWriteFault(mm: Mm, vma: Vma, addr: number, kernel: boolean): number {
  mm.kernel.count('pgfault');
  const e = mm.pt.pmd(addr)!;
  if (e.huge > 0) return userfault(mm, vma, addr, VM_UFFD_WP, true, kernel);
  mm.lock.vma();
  if (mm.kernel.settings.hugeZeroWrite === 'split') {
    // Linux before 6.11: split to 512 zero-page PTEs; the retry copies one 4 KiB page
    splitHugePmd(mm, e);
    return FAULT_MAPPED;
  }
  e.huge = 0;
  mm.installHugePmd(addr, mm.frames.allocHuge(FRAME_ANON));
  mm.kernel.count('thp_fault_alloc');
  mm.faults.thp++;
  return FAULT_MAPPED;
}

/** shmem_fault and the private-file COW on top of it. */
function fileFault(mm: Mm, vma: Vma, addr: number, write: boolean, kernel: boolean): number {
  mm.lock.vma();
  const file = vma.file as ShmemFile;
  if (file.hugetlb) return hugetlbFault(mm, vma, file, addr, write, kernel);
  // do_cow_fault starts with vmf_anon_prepare: under the per-VMA lock it trylocks mmap_lock for
  // reading to set up the anon_vma, before the file is even asked for the page
  if (write && !vma.isShared && mm.anonVmaPrepare(vma)) mm.lock.read();
  if (!write && !(vma.flags & (VM_UFFD_WP | VM_UFFD_MINOR))) {
    // do_read_fault maps the cached neighbours first, the faulting page too when it is cached,
    // and only then asks the file (so a fault ending in SIGBUS still maps the neighbours)
    faultAround(mm, vma, file, addr);
    if (mm.pt.pte(addr) > 0) {
      mm.faults.file++;
      return FAULT_MAPPED;
    }
  }
  const pgoff = vma.pgoffOf(addr);
  if (pgoff * PAGE_SIZE >= file.size) {
    mm.faults.sigbus++;
    return FAULT_SIGBUS; // beyond EOF
  }
  const pfn = file.pages.get(pgoff);
  if (pfn === undefined && vma.flags & VM_UFFD_MISSING) return userfault(mm, vma, addr, VM_UFFD_MISSING, write, kernel);
  if (pfn !== undefined && vma.flags & VM_UFFD_MINOR) return userfault(mm, vma, addr, VM_UFFD_MINOR, write, kernel);
  const page = file.page(mm.frames, pgoff);
  mm.faults.file++;
  if (vma.isShared || !write) {
    mm.frames.get(page);
    mm.installPte(addr, page, mm.pt.pte(addr) === PTE_WP_MARKER ? PTEF_UFFD_WP : 0);
    // fault_dirty_shared_page drops mmap_lock for writeback throttling when the fault may retry;
    // of the faults holding mmap_lock only GUP's (MADV_POPULATE_WRITE) take it back to go on
    if (write && vma.isShared && mm.lock.faultMode === 'gup') mm.lock.relock();
    return FAULT_MAPPED;
  }
  const copy = mm.frames.alloc(FRAME_ANON);
  mm.frames.copy(copy, page);
  mm.installPte(addr, copy);
  return FAULT_MAPPED;
}

/**
 * hugetlb_fault: a 2 MiB page of the file's page cache, mapped by a PMD. A new page comes from
 * the mapping's reservation (or the free pool); with neither, the fault is SIGBUS (VM_FAULT_OOM
 * is reported as SIGBUS for hugetlb). Private mappings are treated as shared here: no fork, so
 * only a private write would differ (it would copy the huge page).
 */
function hugetlbFault(mm: Mm, vma: Vma, file: ShmemFile, addr: number, write: boolean, kernel: boolean): number {
  const base = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  const idx = vma.pgoffOf(base);
  if (idx * PAGE_SIZE >= file.size) {
    mm.faults.sigbus++;
    return FAULT_SIGBUS;
  }
  let head = file.pages.get(idx);
  if (head === undefined && vma.flags & VM_UFFD_MISSING) return userfault(mm, vma, addr, VM_UFFD_MISSING, write, kernel);
  if (head !== undefined && vma.flags & VM_UFFD_MINOR) return userfault(mm, vma, addr, VM_UFFD_MINOR, write, kernel);
  if (head === undefined) {
    head = hugetlbAlloc(mm, file, idx);
    if (head < 0) {
      mm.faults.sigbus++;
      return FAULT_SIGBUS;
    }
  }
  const e = mm.pt.pmdAlloc(base);
  mm.pt.mapHuge(e, head);
  e.hugetlb = true;
  mm.faults.file++;
  return FAULT_MAPPED;
}

/** Take a pool page for page index idx of a hugetlbfs file: its reservation, else a free page; -1 if none. */
export function hugetlbAlloc(mm: Mm, file: ShmemFile, idx: number): number {
  const k = mm.kernel;
  if (file.reserved.delete(idx)) k.hugepagesReserved--;
  else if (k.hugepagesUsed + k.hugepagesReserved >= k.settings.nrHugepages) return -1;
  k.hugepagesUsed++;
  const head = mm.frames.allocHuge(0);
  file.pages.set(idx, head);
  file.onHugeFree ??= () => void k.hugepagesUsed--;
  return head;
}

/** fault_around_bytes: a read fault on a file maps its cached neighbours too (do_fault_around). */
const FAULT_AROUND_BYTES = 64 * 1024;

/**
 * do_fault_around / filemap_map_pages: map the pages of the 64 KiB window around addr that are
 * already in the page cache and not yet mapped. Not in VMAs registered for uffd-wp or minor
 * faults (uffd_disable_fault_around), where every such page must reach the monitor; missing
 * mode keeps it, since fault-around maps only pages that are there.
 */
function faultAround(mm: Mm, vma: Vma, file: ShmemFile, addr: number): void {
  const lo = Math.max(vma.start, Math.floor(addr / FAULT_AROUND_BYTES) * FAULT_AROUND_BYTES);
  const hi = Math.min(vma.end, lo + FAULT_AROUND_BYTES);
  for (let a = lo; a < hi; a += PAGE_SIZE) {
    if (mm.pt.pte(a) !== 0) continue;
    const e = mm.pt.pmd(a);
    if (e && e.huge !== 0) continue;
    const pfn = file.pages.get(vma.pgoffOf(a));
    if (pfn === undefined) continue;
    mm.frames.get(pfn);
    mm.installPte(a, pfn);
  }
}
