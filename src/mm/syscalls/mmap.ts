// mmap(2): do_mmap, get_unmapped_area and mmap_region (mm/mmap.c, mm/vma.c).
import { access, resolvePage } from '../fault.js';
import type { Mm } from '../mm.js';
import { ShmemFile } from '../shmem.js';
import {
  Errno,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  MMAP_MIN_ADDR,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  modPow2, pageAligned,
  pageAlignUp, sizeT } from '../uapi.js';
import {
  newProto,
  protToVmFlags,
  Vma,
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
  type VmaProto,
} from '../vma.js';
import { doMunmap } from './munmap.js';
import { insertVma, mergeNewRange } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_MMAP = syscallNr('mmap');

/** Flags mmap accepts under MAP_SHARED_VALIDATE (LEGACY_MAP_MASK plus MAP_SYNC). */
const KNOWN_FLAGS = 0x1ffff | 0x80000 | MAP_FIXED_NOREPLACE | 0x4000000;

/** Whether a private mapping with these flags is charged against overcommit (accountable_mapping). */
export function accountable(flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/**
 * get_unmapped_area for an anonymous or shmem mapping: MAP_FIXED takes addr as is, a free hint is
 * honoured, anything else goes top-down from mmap_base. Anonymous mappings whose length is a
 * multiple of 2 MiB are 2 MiB-aligned so THPs can back them (__get_unmapped_area, Linux 6.7+).
 */
export function getUnmappedArea(mm: Mm, hint: number, len: number, fixed: boolean, anon: boolean): number {
  if (len > TASK_SIZE) throw new Errno('ENOMEM');
  if (fixed) {
    if (hint > TASK_SIZE - len) throw new Errno('ENOMEM');
    return hint;
  }
  if (hint) {
    hint = Math.floor(hint / PAGE_SIZE) * PAGE_SIZE;
    if (hint >= MMAP_MIN_ADDR && hint <= TASK_SIZE - len && mm.vmas.isFree(hint, hint + len)) return hint;
  }
  const align = anon && modPow2(len, PMD_SIZE) === 0 ? PMD_SIZE : PAGE_SIZE;
  let a = mm.vmas.findGapTopDown(len, MMAP_MIN_ADDR, mm.mmapBase, align);
  if (a < 0) a = mm.vmas.findGapTopDown(len, MMAP_MIN_ADDR, TASK_SIZE, align);
  if (a < 0) throw new Errno('ENOMEM');
  return a;
}

/**
 * mmap_region: put a VMA at [addr, addr + len), replacing what MAP_FIXED covers, merging with
 * neighbours where the rules allow. Returns the VMA covering the range. `free`: the caller knows
 * the range is free (get_unmapped_area chose it), so there is nothing to replace.
 */
export function mmapRegion(mm: Mm, addr: number, len: number, p: VmaProto, free = false): Vma {
  const end = addr + len;
  if (!free && !mm.vmas.isFree(addr, end)) doMunmap(mm, addr, end);
  const merged = mergeNewRange(mm, addr, end, p);
  if (merged) return merged;
  const v = new Vma(addr, end, p.flags, p.pgoff, p.file);
  v.anonVma = p.anonVma;
  v.uffd = p.uffd;
  v.anonName = p.anonName;
  insertVma(mm, v);
  return v;
}

/**
 * hugetlb_reserve_pages: a mapping of a hugetlbfs file reserves the pool pages its range may
 * need, so a fault can never find the pool empty; too few free pages is ENOMEM at mmap time.
 */
function reserveHugePages(mm: Mm, file: ShmemFile, offset: number, len: number): void {
  const k = mm.kernel;
  const want: number[] = [];
  for (let off = offset; off < offset + len; off += PMD_SIZE) {
    const idx = off / PAGE_SIZE;
    if (!file.reserved.has(idx) && !file.pages.has(idx)) want.push(idx);
  }
  if (k.hugepagesUsed + k.hugepagesReserved + want.length > k.settings.nrHugepages) throw new Errno('ENOMEM', 'hugetlb pool too small');
  for (const idx of want) file.reserved.add(idx);
  k.hugepagesReserved += want.length;
}

/**
 * Fault in every page of [start, end); stops at the first failure and returns where it stopped.
 * 'mmap' writes only private writable memory, as populate_vma_page_range does.
 */
export function populateRange(mm: Mm, start: number, end: number, write: boolean | 'mmap'): number {
  // under GUP only relock() counts, so any read counted meanwhile is a lock the GUP lost
  const reads = mm.lock.total.read;
  try {
    for (let a = start; a < end; a += PAGE_SIZE) {
      const v = mm.vmas.find(a);
      if (!v) return a;
      const w = write === 'mmap' ? (v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE : write;
      if (resolvePage(mm, a, access('gup', w)) < 0) return a; // GUP, under the caller's mmap_lock
    }
    return end;
  } finally {
    // a GUP that lost mmap_lock on the way ends with one more take (recorded: 2 + n reads for
    // MADV_POPULATE_WRITE of n new shared pages, 1 when none was new)
    if (mm.lock.total.read !== reads) mm.lock.relock();
  }
}

export function sysMmap(
  mm: Mm,
  addr: number,
  length: number,
  prot: number,
  flags: number,
  file: ShmemFile | null = null,
  offset = 0,
): number {
  mm.countSyscall(NR_MMAP);
  addr = sizeT(addr);
  length = sizeT(length);
  if (offset % PAGE_SIZE !== 0) throw new Errno('EINVAL', 'offset not page-aligned');
  if (!(flags & MAP_ANONYMOUS) && !file) throw new Errno('EBADF');
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) throw new Errno('EINVAL', 'map type');
  if (type === MAP_SHARED_VALIDATE && flags & ~KNOWN_FLAGS) throw new Errno('EOPNOTSUPP');
  if (length === 0) throw new Errno('EINVAL', 'zero length');
  const huge = file?.hugetlb === true;
  // hugetlbfs: whole 2 MiB pages, at 2 MiB-aligned offsets and addresses (hugetlbfs_file_mmap)
  const len = huge ? Math.ceil(length / PMD_SIZE) * PMD_SIZE : pageAlignUp(length);
  if (len > TASK_SIZE || len < length) throw new Errno('ENOMEM');
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed && !pageAligned(addr)) throw new Errno('EINVAL', 'unaligned fixed address');
  if (huge && (modPow2(offset, PMD_SIZE) !== 0 || (fixed && modPow2(addr, PMD_SIZE) !== 0))) throw new Errno('EINVAL', 'hugetlbfs needs 2 MiB alignment');
  if (flags & MAP_HUGETLB) throw new Errno('ENOMEM', 'no hugetlb pages reserved');
  mm.lock.write();
  if (mm.mapCount > mm.kernel.settings.maxMapCount) throw new Errno('ENOMEM', 'max_map_count');
  const anon = (flags & MAP_ANONYMOUS) !== 0;
  const shared = type !== MAP_PRIVATE;
  const start = getUnmappedArea(mm, addr, len, (flags & MAP_FIXED) !== 0 || (flags & MAP_FIXED_NOREPLACE) !== 0, (anon && !shared) || huge);
  if (fixed && start < MMAP_MIN_ADDR) throw new Errno('EPERM', 'below mmap_min_addr');
  if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && !mm.vmas.isFree(start, start + len)) {
    throw new Errno('EEXIST');
  }
  let vmFlags = protToVmFlags(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (shared) vmFlags |= VM_SHARED | VM_MAYSHARE;
  if (flags & MAP_NORESERVE) vmFlags |= VM_NORESERVE;
  if (flags & MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  if (flags & MAP_LOCKED) vmFlags |= VM_LOCKED;
  if (accountable(vmFlags) && !huge) {
    vmFlags |= VM_ACCOUNT;
    // mmap_region charges the mapping before it is made
    if (!mm.kernel.vmEnoughMemory(len)) throw new Errno('ENOMEM', 'overcommit');
  }
  if (huge) {
    vmFlags |= VM_HUGETLB | VM_DONTEXPAND;
    reserveHugePages(mm, file!, offset, len);
  }
  let backing = file;
  let pgoff = offset / PAGE_SIZE;
  if (anon && shared) {
    // shmem_zero_setup: a shared anonymous mapping is an unlinked shmem file
    backing = new ShmemFile('dev/zero', len, mm.kernel.newInode(), false, true);
    pgoff = 0;
  } else if (anon) {
    pgoff = start / PAGE_SIZE;
  }
  if (backing) mm.attachFile(backing);
  mmapRegion(mm, start, len, newProto(vmFlags, pgoff, len / PAGE_SIZE, backing), !(flags & MAP_FIXED));
  if (flags & (MAP_POPULATE | MAP_LOCKED)) {
    mm.lock.read(); // __mm_populate runs under mmap_read_lock after mmap drops the write lock
    populateRange(mm, start, start + len, 'mmap');
  }
  return start;
}
