// VMA operations, as mm/vma.c has them: insert and remove, split (__split_vma), and
// the two merges — a new range placed beside its neighbours (vma_merge_new_range) and a range of
// an existing VMA whose attributes change (vma_modify). Both ask the same question of the
// neighbours, written once in mergeCase; the rules for when two VMAs may be one are vma.ts's.
import { DebugLog } from './debug-log.js';
import type { Mm } from './mm.js';
import { splitHugeAt } from './thp.js';
import { Errno, PMD_SIZE } from './uapi.js';
import { anonVmaCompatible, canMergeAfter, canMergeBefore, protoOf, type Vma, VM_HUGETLB, type VmaProto } from './vma.js';

const dbg = new DebugLog('mm:vma');

export function insertVma(mm: Mm, v: Vma): void {
  mm.vmas.insert(v);
  if (dbg.enabled) dbg.log('insert %s', v);
}

export function removeVma(mm: Mm, v: Vma): void {
  mm.vmas.remove(v);
  if (dbg.enabled) dbg.log('remove %s', v);
}

/** Remove a VMA a neighbour has just grown over (the merge cases). */
function removeMerged(mm: Mm, v: Vma): void {
  mm.vmas.removeAbsorbed(v);
  if (dbg.enabled) dbg.log('merged away %s', v);
}

export function splitVma(mm: Mm, v: Vma, addr: number): Vma {
  // hugetlb_vm_op_split: a hugetlbfs VMA splits only at huge page boundaries
  if (v.flags & VM_HUGETLB && addr % PMD_SIZE) throw new Errno('EINVAL', 'unaligned split of a hugetlb VMA');
  splitHugeAt(mm, addr);
  const hi = v.cloneRange(addr, v.end);
  mm.vmas.split(v, hi);
  if (dbg.enabled) dbg.log('split %s | %s', v, hi);
  return hi;
}

/**
 * munmap's commonest case in a heap of small mappings, a hole inside one VMA: the VMAs that
 * __split_vma at both ends and the removal of the middle leave, made directly (the caller has
 * checked max_map_count and hugetlb alignment, and zaps the pages).
 */
export function punchHole(mm: Mm, v: Vma, start: number, end: number): void {
  splitHugeAt(mm, start);
  splitHugeAt(mm, end);
  const hi = v.cloneRange(end, v.end);
  mm.vmas.punchHole(v, start, hi);
  if (dbg.enabled) dbg.log('hole [%s, %s) in %s | %s', start.toString(16), end.toString(16), v, hi);
}

/**
 * munmap of one end of a VMA: what __split_vma at the cut and the removal of the part cut off
 * leave — v keeping [start, end) — made directly (the caller zaps the pages).
 */
export function trimVma(mm: Mm, v: Vma, start: number, end: number): void {
  if (start > v.start) {
    splitHugeAt(mm, start);
    v.pgoff = v.pgoffOf(start);
    mm.vmas.setStart(v, start);
  }
  if (end < v.end) {
    splitHugeAt(mm, end);
    mm.vmas.setEnd(v, end);
  }
  if (dbg.enabled) dbg.log('trimmed to %s', v);
}

/** Ensure n splits ahead would not pass max_map_count. */
export function checkSplits(mm: Mm, n: number): void {
  if (n > 0 && mm.mapCount + n - 1 >= mm.kernel.settings.maxMapCount) throw new Errno('ENOMEM', 'max_map_count');
}

/**
 * Which neighbours a range described by p joins: both (when their anon_vmas are compatible too),
 * the one before, the one after, or none — the cases vma_merge_new_range and
 * vma_merge_existing_range share (can_vma_merge_left/right).
 */
function mergeCase(prev: Vma | null, next: Vma | null, p: VmaProto): 'both' | 'prev' | 'next' | null {
  const left = prev !== null && canMergeAfter(prev, p);
  const right = next !== null && canMergeBefore(next, p);
  if (left && right && anonVmaCompatible(prev.anonVma, next.anonVma)) return 'both';
  return left ? 'prev' : right ? 'next' : null;
}

/**
 * vma_merge_new_range: place a new range [start, end) described by p next to its neighbours,
 * extending prev and/or next when the rules allow. Returns the VMA that now covers the range,
 * or null when it must be a VMA of its own.
 */
export function mergeNewRange(mm: Mm, start: number, end: number, p: VmaProto): Vma | null {
  // the range is free: the VMAs around it are the first one above start and the one before that
  const after = mm.vmas.nextAbove(start);
  const before = after ? after.prev : mm.vmas.last();
  const prev = before && before.end === start ? before : null;
  const next = after && after.start === end ? after : null;
  switch (mergeCase(prev, next, p)) {
    case 'both':
      prev!.anonVma ??= next!.anonVma ?? p.anonVma;
      mm.vmas.mergeNext(prev!, next!);
      if (dbg.enabled) dbg.log('merge new %s, %s merged away', prev, next);
      return prev;
    case 'prev':
      prev!.anonVma ??= p.anonVma;
      mm.vmas.setEnd(prev!, end);
      if (dbg.enabled) dbg.log('merge new into prev %s', prev);
      return prev;
    case 'next':
      next!.anonVma ??= p.anonVma;
      mm.vmas.setStart(next!, start);
      next!.pgoff = p.pgoff;
      if (dbg.enabled) dbg.log('merge new into next %s', next);
      return next;
    default:
      return null;
  }
}

/**
 * vma_modify: give [start, end) of vma the attributes `change` sets, merging with a neighbour
 * when the result equals it (vma_merge_existing_range) and splitting otherwise. Returns the VMA
 * now covering the range.
 */
export function modifyRange(mm: Mm, vma: Vma, start: number, end: number, change: (p: VmaProto) => void): Vma {
  const p = protoOf(vma, start, end);
  change(p);
  if (p.flags === vma.flags && p.uffd === vma.uffd) return vma;
  mm.vmas.onChange?.(start, end);
  const prev = start === vma.start && vma.prev && vma.prev.end === start ? vma.prev : null;
  const next = end === vma.end && vma.next && vma.next.start === end ? vma.next : null;
  switch (mergeCase(prev, next, p)) {
    case 'both':
      prev!.anonVma ??= vma.anonVma ?? next!.anonVma;
      mm.vmas.setEnd(prev!, next!.end);
      removeMerged(mm, vma);
      removeMerged(mm, next!);
      return prev!;
    case 'prev':
      splitHugeAt(mm, end);
      prev!.anonVma ??= vma.anonVma;
      mm.vmas.setEnd(prev!, end);
      if (end === vma.end) removeMerged(mm, vma);
      else {
        vma.pgoff = vma.pgoffOf(end);
        mm.vmas.setStart(vma, end);
      }
      return prev!;
    case 'next':
      splitHugeAt(mm, start);
      next!.anonVma ??= vma.anonVma;
      // vma goes (or shrinks) first: next takes over its start, and the tree is keyed by start
      if (start === vma.start) removeVma(mm, vma);
      else mm.vmas.setEnd(vma, start);
      mm.vmas.setStart(next!, start);
      next!.pgoff = p.pgoff;
      return next!;
  }
  checkSplits(mm, (start > vma.start ? 1 : 0) + (end < vma.end ? 1 : 0));
  let mid = vma;
  if (start > vma.start) mid = splitVma(mm, vma, start);
  if (end < mid.end) splitVma(mm, mid, end);
  mid.flags = p.flags;
  mid.uffd = p.uffd;
  mm.vmas.onChange?.(mid.start, mid.end);
  return mid;
}
