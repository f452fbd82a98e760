// munmap(2): do_vmi_munmap (mm/vma.c). Atomic: either every VMA in the range goes or none does.
import type { Mm } from '../mm.js';
import { Errno, modPow2, pageAligned, PMD_SIZE, TASK_SIZE, pageAlignUp, sizeT } from '../uapi.js';
import { type Vma, VM_HUGETLB } from '../vma.js';
import { ZAP_DROP_GUARDS, freePgtables, unmapPageRange } from '../memory.js';
import { punchHole, removeVma, splitVma, trimVma } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_MUNMAP = syscallNr('munmap');

/**
 * Unmap [start, end): split the VMAs at the edges, drop their pages (guard markers too) and
 * remove them. Returns whether any VMA was there. Punching a hole in the middle of a VMA needs a
 * new VMA and fails with ENOMEM at vm.max_map_count (vms_gather_munmap_vmas).
 */
/** Whether a cut at `at` falls inside one of v's huge pages (v a hugetlbfs VMA). */
function cutsHugePage(v: Vma, at: number): boolean {
  return (v.flags & VM_HUGETLB) !== 0 && at > v.start && at < v.end && modPow2(at, PMD_SIZE) !== 0;
}

export function doMunmap(mm: Mm, start: number, end: number): boolean {
  const first = mm.vmas.findFrom(start);
  if (!first || first.start >= end) return false;
  // a hugetlbfs VMA cut off its huge page boundaries is EINVAL, before anything changes
  const last = first.end >= end ? first : mm.vmas.findFrom(end - 1);
  if (cutsHugePage(first, start) || (last && cutsHugePage(last, end))) throw new Errno('EINVAL', 'unaligned hugetlb unmap');
  if (first.start < start && first.end > end && mm.mapCount >= mm.kernel.settings.maxMapCount) {
    throw new Errno('ENOMEM', 'max_map_count');
  }
  mm.userfault?.unmap?.(start, end);
  if (first.end > end || !first.next || first.next.start >= end) {
    // the range meets one VMA: a hole in it, one of its ends, or all of it. What __split_vma at
    // the cuts and the removal of the part cut off leave, made directly (no VMA made only to go)
    const cutLow = first.start < start;
    const cutHigh = first.end > end;
    const lo = cutLow ? start : first.start;
    const hi = cutHigh ? end : first.end;
    // free_pgtables keeps the tables a neighbour still uses: what is left of this VMA, or the next one
    const floor = cutLow ? start : first.prev ? first.prev.end : 0;
    const ceiling = cutHigh ? end : first.next ? first.next.start : 0;
    if (cutLow && cutHigh) punchHole(mm, first, start, end);
    else if (cutLow) trimVma(mm, first, first.start, start);
    else if (cutHigh) trimVma(mm, first, end, first.end);
    else removeVma(mm, first);
    unmapPageRange(mm, start, end, ZAP_DROP_GUARDS);
    freePgtables(mm, lo, hi, floor, ceiling);
    return true;
  }
  let v: typeof first | null = first;
  if (v.start < start) v = splitVma(mm, v, start);
  const doomed = [];
  while (v && v.start < end) {
    if (v.end > end) splitVma(mm, v, end);
    doomed.push(v);
    v = v.next;
  }
  unmapPageRange(mm, start, end, ZAP_DROP_GUARDS);
  const floor = doomed[0].prev?.end ?? 0;
  const ceiling = doomed[doomed.length - 1].next?.start ?? 0;
  const lo = doomed[0].start;
  const hi = doomed[doomed.length - 1].end;
  for (const d of doomed) removeVma(mm, d);
  freePgtables(mm, lo, hi, floor, ceiling);
  return true;
}

export function sysMunmap(mm: Mm, addr: number, length: number): void {
  mm.countSyscall(NR_MUNMAP);
  addr = sizeT(addr);
  length = sizeT(length);
  if (!pageAligned(addr)) throw new Errno('EINVAL', 'unaligned address');
  const len = pageAlignUp(length);
  if (len === 0 || addr > TASK_SIZE || len > TASK_SIZE - addr) throw new Errno('EINVAL');
  mm.lock.write();
  // munmap drops to a read lock once the VMAs are detached (mmap_write_downgrade)
  if (doMunmap(mm, addr, addr + len)) mm.lock.downgrade();
}
