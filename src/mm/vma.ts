// Virtual memory areas and Linux's rules for when two of them may be one (mm/vma.c:
// is_mergeable_vma, is_mergeable_anon_vma, can_vma_merge_before/after). This module knows nothing
// of page tables; with vma-ops.ts, which applies the rules (split, merge, modify), it is the part
// the kernel tests in tools/testing/vma.
import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from './uapi.js';

// vm_flags. Bits below 32 are the kernel's own values (include/linux/mm.h); VM_UFFD_MINOR lives
// in a high bit on 64-bit kernels, so it takes a bit the x86-64 kernel leaves unused (0x800) here.
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_MINOR = 0x800;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/**
 * KSM's flag. Linux uses bit 31; the simulator keeps its flags positive 32-bit integers, so it
 * borrows bit 23 (VM_ARCH_1, unused on x86 anonymous memory); VmFlags prints it as 'mg' in bit 31's place.
 */
export const VM_MERGEABLE = 0x800000;

export const VM_UFFD_FLAGS = VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR;
/** VM_SPECIAL: mappings the kernel never merges. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP;

/** Mnemonics of /proc/PID/smaps VmFlags, in the kernel's bit order (show_smap_vma_flags). */
export const VM_MNEMONICS: readonly [number, string][] = [
  [VM_READ, 'rd'],
  [VM_WRITE, 'wr'],
  [VM_EXEC, 'ex'],
  [VM_SHARED, 'sh'],
  [VM_MAYREAD, 'mr'],
  [VM_MAYWRITE, 'mw'],
  [VM_MAYEXEC, 'me'],
  [VM_MAYSHARE, 'ms'],
  [VM_GROWSDOWN, 'gd'],
  [VM_UFFD_MISSING, 'um'],
  [VM_PFNMAP, 'pf'],
  [VM_UFFD_WP, 'uw'],
  [VM_LOCKED, 'lo'],
  [VM_IO, 'io'],
  [VM_SEQ_READ, 'sr'],
  [VM_RAND_READ, 'rr'],
  [VM_DONTCOPY, 'dc'],
  [VM_DONTEXPAND, 'de'],
  [VM_LOCKONFAULT, 'lf'],
  [VM_ACCOUNT, 'ac'],
  [VM_NORESERVE, 'nr'],
  [VM_HUGETLB, 'ht'],
  [VM_WIPEONFORK, 'wf'],
  [VM_DONTDUMP, 'dd'],
  [VM_HUGEPAGE, 'hg'],
  [VM_NOHUGEPAGE, 'nh'],
  [VM_MERGEABLE, 'mg'],
  [VM_UFFD_MINOR, 'ui'],
];

/** The anonymous memory an area's pages belong to (struct anon_vma); identity is what matters. */
export class AnonVma {
  private static nextId = 1;
  readonly id = AnonVma.nextId++;
}

/** The page cache of a shmem/memfd or hugetlbfs file. */
export interface MappedFile {
  readonly id: number;
  /** The name /proc/PID/maps shows (e.g. `/memfd:heap (deleted)`). */
  readonly path: string;
  readonly inode: number;
  readonly hugetlb: boolean;
}

/** A userfaultfd context, as far as VMAs care: its identity. */
export interface UffdCtxRef {
  readonly id: number;
}

export class Vma {
  /** Previous and next VMA in address order (the kernel's old vm_prev/vm_next). */
  prev: Vma | null = null;
  next: Vma | null = null;
  anonVma: AnonVma | null = null;
  uffd: UffdCtxRef | null = null;
  /**
   * anon_vma_name: a name given to anonymous memory (prctl PR_SET_VMA_ANON_NAME), shown in maps
   * as [anon:NAME]; VMAs of different names do not merge. Nothing here sets one yet.
   */
  anonName: string | null = null;
  /** The VMA tree's range-index id (range-index.ts); -1 outside a tree. */
  rangeId = -1;
  /** Where the VMA tree's B+tree last had this VMA: a hint, checked before use (NumberBTree.holds). */
  treeSlot = -1;
  /** The same for the entry of the free gap below it in the tree's gap index, when there is one. */
  gapSlot = -1;

  constructor(
    public start: number,
    public end: number,
    public flags: number,
    /** vm_pgoff, in pages: file offset, or for anonymous memory the address it was born at. */
    public pgoff: number,
    public file: MappedFile | null = null,
  ) {}

  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  get isAnonymous(): boolean {
    return this.file === null;
  }

  get isShared(): boolean {
    return (this.flags & VM_SHARED) !== 0;
  }

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** The page offset that address addr has within this VMA's backing (linear_page_index). */
  pgoffOf(addr: number): number {
    return this.pgoff + Math.floor((addr - this.start) / PAGE_SIZE);
  }

  /** A copy of this VMA's attributes for [start, end), as __split_vma makes. */
  cloneRange(start: number, end: number): Vma {
    const v = new Vma(start, end, this.flags, this.pgoffOf(start), this.file);
    v.anonVma = this.anonVma;
    v.uffd = this.uffd;
    v.anonName = this.anonName;
    return v;
  }

  toString(): string {
    return `Vma(${this.start.toString(16)}-${this.end.toString(16)} ${permString(this.flags)} pgoff=${this.pgoff.toString(16)})`;
  }
}

export function protToVmFlags(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/** The four permission characters of /proc/PID/maps. */
export function permString(flags: number): string {
  return (
    (flags & VM_READ ? 'r' : '-') +
    (flags & VM_WRITE ? 'w' : '-') +
    (flags & VM_EXEC ? 'x' : '-') +
    (flags & VM_MAYSHARE ? 's' : 'p')
  );
}

/** What a new or modified range would look like: the fields merging compares. */
export interface VmaProto {
  flags: number;
  file: MappedFile | null;
  anonVma: AnonVma | null;
  uffd: UffdCtxRef | null;
  /** pgoff of the range's first page. */
  pgoff: number;
  pages: number;
  anonName: string | null;
}

/** is_mergeable_vma: same flags, same file, same userfaultfd context, same anon_vma_name. */
export function isMergeableVma(vma: Vma, p: VmaProto): boolean {
  if (vma.flags !== p.flags) return false;
  if ((p.flags & VM_SPECIAL) !== 0) return false;
  if (vma.file !== p.file) return false;
  if (vma.uffd !== p.uffd) return false;
  if (vma.anonName !== p.anonName) return false;
  return true;
}

/**
 * is_mergeable_anon_vma: anonymous memory is compatible when one side has none yet, or both share
 * the same anon_vma (this simulator has no fork, so every anon_vma chain is singular).
 */
export function anonVmaCompatible(a: AnonVma | null, b: AnonVma | null): boolean {
  return a === null || b === null || a === b;
}

/** can_vma_merge_after: the range may be appended to prev. */
export function canMergeAfter(prev: Vma, p: VmaProto): boolean {
  return isMergeableVma(prev, p) && anonVmaCompatible(prev.anonVma, p.anonVma) && prev.pgoff + prev.pages === p.pgoff;
}

/** can_vma_merge_before: the range may be prepended to next. */
export function canMergeBefore(next: Vma, p: VmaProto): boolean {
  return isMergeableVma(next, p) && anonVmaCompatible(next.anonVma, p.anonVma) && p.pgoff + p.pages === next.pgoff;
}

/**
 * Protos are made by a constructor, not an object literal: a literal whose pgoff is past the Smi
 * range is deep-copied from its boilerplate by V8's runtime on every mmap (a tenth of a small
 * mmap's time).
 */
class Proto implements VmaProto {
  constructor(
    public flags: number,
    public file: MappedFile | null,
    public anonVma: AnonVma | null,
    public uffd: UffdCtxRef | null,
    public pgoff: number,
    public pages: number,
    public anonName: string | null,
  ) {}
}

/** The proto of a new range of memory: nothing yet but its flags, file and place. */
export function newProto(flags: number, pgoff: number, pages: number, file: MappedFile | null = null): VmaProto {
  return new Proto(flags, file, null, null, pgoff, pages, null);
}

/** The proto of [start, end) of an existing VMA (as __split_vma or a move would copy it). */
export function protoOf(v: Vma, start = v.start, end = v.end, pgoff = v.pgoffOf(start)): VmaProto {
  return new Proto(v.flags, v.file, v.anonVma, v.uffd, pgoff, (end - start) / PAGE_SIZE, v.anonName);
}
