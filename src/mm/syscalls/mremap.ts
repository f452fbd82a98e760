// mremap(2): shrink, grow in place, or move (mm/mremap.c). A moved anonymous VMA keeps its
// vm_pgoff and anon_vma (copy_vma), so it merges with its new neighbours only when those line up:
// the fragmentation mremap_vma_merge exists to undo.
import { PTEF_UNTOUCHED } from '../page-table.js';
import type { Mm } from '../mm.js';
import { Errno, modPow2, pageAligned, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PMD_SIZE, TASK_SIZE, pageAlignUp, sizeT } from '../uapi.js';
import { protoOf, VM_ACCOUNT, VM_DONTEXPAND, VM_PFNMAP, VM_SHARED, VM_UFFD_FLAGS, Vma } from '../vma.js';
import { getUnmappedArea } from './mmap.js';
import { doMunmap } from './munmap.js';
import { splitHugePmd } from '../thp.js';
import { insertVma, mergeNewRange, modifyRange } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_MREMAP = syscallNr('mremap');

/**
 * move_page_tables: move every entry of [from, from + len) to [to, to + len). A whole THP moves
 * as one PMD when both sides are 2 MiB-aligned (move_huge_pmd); otherwise it is split first.
 * Markers (guards, uffd-wp) move with their PTEs. RSS does not change.
 */
export function movePageTables(mm: Mm, from: number, to: number, len: number): void {
  const delta = to - from;
  const aligned = modPow2(delta, PMD_SIZE) === 0;
  for (const e of mm.pt.pmdsIn(from, from + len)) {
    if (e.huge === 0) continue;
    const whole = e.base >= from && e.base + PMD_SIZE <= from + len;
    if (whole && aligned) {
      mm.tlb.gather(1);
      const d = mm.pt.pmdAlloc(e.base + delta);
      mm.pt.mapHuge(d, e.huge);
      d.hugeFlags = e.hugeFlags;
      d.hugetlb = e.hugetlb;
      e.huge = 0;
      e.hugeFlags = 0;
      e.hugetlb = false;
      mm.pt.dropIfEmpty(e);
    } else {
      splitHugePmd(mm, e);
    }
  }
  // move_normal_pmd: with both sides aligned, a whole block's PTE table changes hands (no table
  // is allocated or freed) when the destination has none
  if (aligned) {
    for (const e of mm.pt.pmdsIn(from, from + len)) {
      if (!e.pte || e.base < from || e.base + PMD_SIZE > from + len) continue;
      const d = mm.pt.pmdAlloc(e.base + delta);
      if (d.pte || d.huge) continue;
      mm.tlb.gather(e.used);
      mm.pt.moveTable(e, d);
      for (let i = 0; i < d.pteFlags!.length; i++) if (d.pte![i] > 0) d.pteFlags![i] |= PTEF_UNTOUCHED;
    }
  }
  const moves: number[] = [];
  mm.pt.forEachPte(from, from + len, (addr, v, e, i) => {
    moves.push(addr, v, e.pteFlags![i]);
  });
  mm.tlb.gather(moves.length / 3);
  mm.ptesMoved += moves.length / 3;
  for (let k = 0; k < moves.length; k += 3) mm.pt.clearPte(moves[k]);
  for (let k = 0; k < moves.length; k += 3) mm.pt.setPte(moves[k] + delta, moves[k + 1], moves[k + 2] | PTEF_UNTOUCHED);
  // a whole block whose entries moved one by one leaves no emptied table behind either
  if (aligned) mm.pt.freeEmptyTables(from, from + len);
}

/**
 * move_vma: a new VMA (or an extension of a neighbour, when the rules allow) at [to, to + newLen)
 * takes the pages of [from, from + oldLen); the old range is unmapped unless DONTUNMAP.
 */
function moveVma(mm: Mm, vma: Vma, from: number, oldLen: number, newLen: number, to: number, dontUnmap: boolean): number {
  // move_vma needs room for up to three more VMAs (the split old one, the new one)
  if (mm.mapCount >= mm.kernel.settings.maxMapCount - 3) throw new Errno('ENOMEM', 'max_map_count');
  // copy_vma: an anonymous VMA that never had pages is born again at its new address
  const fresh = vma.isAnonymous && !vma.anonVma;
  const p = protoOf(vma, from, from + newLen, fresh ? to / PAGE_SIZE : vma.pgoffOf(from));
  let moved = mergeNewRange(mm, to, to + newLen, p);
  if (!moved) {
    moved = new Vma(to, to + newLen, p.flags, p.pgoff, p.file);
    moved.anonVma = p.anonVma;
    moved.uffd = p.uffd;
    insertVma(mm, moved);
  }
  movePageTables(mm, from, to, oldLen);
  if (vma.uffd && !(mm.userfault?.remap?.(moved, from, to, oldLen) ?? false)) {
    // without UFFD_FEATURE_EVENT_REMAP the moved range loses its registration
    modifyRange(mm, moved, to, to + newLen, (q) => {
      q.flags &= ~VM_UFFD_FLAGS;
      q.uffd = null;
    });
  }
  if (dontUnmap) {
    // the old range stays mapped and empty, its VMA neither split nor re-flagged (recorded on
    // 6.18: it still merges with a new accountable mapping); a VMA moved whole drops its
    // anon_vma links (dontunmap_complete's unlink_anon_vmas), so it merges like a fresh one
    const old = mm.vmas.find(from)!;
    if (old !== moved && old.start === from && old.end === from + oldLen) old.anonVma = null;
  } else {
    doMunmap(mm, from, from + oldLen);
  }
  return to;
}

/** mremap of a range made of several VMAs to newAddr (remap_move): each piece moves on its own. */
function moveVmas(mm: Mm, addr: number, len: number, newAddr: number, dontUnmap: boolean): number {
  const pieces = mm.vmas.overlapping(addr, addr + len).map((v) => [Math.max(v.start, addr), Math.min(v.end, addr + len)] as const);
  for (const [s] of pieces) {
    const v = mm.vmas.find(s)!;
    if (v.flags & (VM_DONTEXPAND | VM_PFNMAP)) throw new Errno('EFAULT');
  }
  // each VMA is moved as its own MREMAP_FIXED: only its target is cleared, so what is mapped
  // opposite a gap of the source stays (recorded in mremap-multi-dontunmap)
  for (const [s, e] of pieces) {
    const v = mm.vmas.find(s)!;
    // vma_multi_allowed: a userfaultfd-armed VMA cannot take part (the REMAP event would need
    // mmap_lock dropped). The VMAs before it stay moved: the kernel does not undo them.
    if (v.flags & VM_UFFD_FLAGS) throw new Errno('EFAULT', 'userfaultfd-armed VMA in a multi-VMA move');
    doMunmap(mm, newAddr + (s - addr), newAddr + (e - addr));
    moveVma(mm, v, s, e - s, e - s, newAddr + (s - addr), dontUnmap);
  }
  return newAddr;
}

export function sysMremap(mm: Mm, addr: number, oldLength: number, newLength: number, flags: number, newAddr = 0): number {
  mm.countSyscall(NR_MREMAP);
  [addr, oldLength, newLength, newAddr] = [addr, oldLength, newLength, newAddr].map(sizeT);
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) throw new Errno('EINVAL');
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) throw new Errno('EINVAL');
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLength !== newLength)) throw new Errno('EINVAL');
  if (!pageAligned(addr)) throw new Errno('EINVAL', 'unaligned address');
  const oldLen = pageAlignUp(oldLength);
  const newLen = pageAlignUp(newLength);
  if (newLen === 0) throw new Errno('EINVAL', 'zero new length');
  if (oldLen > TASK_SIZE || newLen > TASK_SIZE || addr > TASK_SIZE - oldLen) throw new Errno('EINVAL');
  mm.lock.write();
  if (flags & MREMAP_FIXED) {
    if (!pageAligned(newAddr)) throw new Errno('EINVAL', 'unaligned new address');
    if (newAddr > TASK_SIZE - newLen) throw new Errno('EINVAL');
    if (newAddr < addr + oldLen && addr < newAddr + newLen) throw new Errno('EINVAL', 'ranges overlap');
  }
  // vma_lookup first: no VMA at the old address is EFAULT, whatever else is asked
  const vma = mm.vmas.find(addr);
  if (!vma) throw new Errno('EFAULT', 'no VMA at old address');
  // shrinking (or keeping the size) only unmaps the tail, even past the VMA's end
  if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && newLen <= oldLen) {
    // the tail goes through do_vmi_munmap with unlock set: mmap_lock is downgraded, as munmap's
    if (newLen < oldLen && doMunmap(mm, addr + newLen, addr + oldLen)) mm.lock.downgrade();
    return addr;
  }
  if (oldLen === 0) {
    if (!(vma.flags & VM_SHARED)) throw new Errno('EINVAL', 'old_len 0 needs a shared mapping');
    throw new Errno('EINVAL', 'duplicating a shared mapping is not modelled');
  }
  // the part that moves or grows must lie in one VMA (vma_to_resize); a FIXED move first drops
  // the old range's tail beyond the new length
  const span = flags & MREMAP_FIXED ? Math.min(oldLen, newLen) : oldLen;
  if (addr + span > vma.end) {
    // Linux 6.17+ moves a range of several VMAs (gaps kept) when it only moves, not resizes
    // (MREMAP_DONTUNMAP too: each piece then leaves its old range mapped and empty)
    if (flags & MREMAP_FIXED && oldLen === newLen && mm.kernel.settings.mremapMultiVma) return moveVmas(mm, addr, oldLen, newAddr, (flags & MREMAP_DONTUNMAP) !== 0);
    throw new Errno('EFAULT', 'old range spans VMAs');
  }
  if (newLen > oldLen && vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) throw new Errno('EFAULT');
  // vrm_charge: an accountable VMA is charged what it grows by (all of it with DONTUNMAP)
  const charge = flags & MREMAP_DONTUNMAP ? newLen : newLen - oldLen;
  if (vma.flags & VM_ACCOUNT && charge > 0 && !mm.kernel.vmEnoughMemory(charge)) throw new Errno('ENOMEM', 'overcommit');

  if (flags & MREMAP_FIXED) {
    // mremap_to: clear the target, trim the source to size, then move
    doMunmap(mm, newAddr, newAddr + newLen);
    let len = oldLen;
    if (oldLen > newLen) {
      doMunmap(mm, addr + newLen, addr + oldLen);
      len = newLen;
    }
    const src = mm.vmas.find(addr)!;
    return moveVma(mm, src, addr, len, newLen, newAddr, (flags & MREMAP_DONTUNMAP) !== 0);
  }
  if (!(flags & MREMAP_DONTUNMAP) && addr + oldLen === vma.end) {
    const end = addr + newLen;
    const next = vma.next;
    if (end <= TASK_SIZE && (!next || next.start >= end)) {
      // grow in place: vma_merge_extend, which also absorbs a mergeable next VMA
      const p = protoOf(vma, vma.end, end);
      if (!mergeNewRange(mm, vma.end, end, p)) mm.vmas.setEnd(vma, end);
      return addr;
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) throw new Errno('ENOMEM', 'cannot grow in place');
  const to = getUnmappedArea(mm, 0, newLen, false, vma.isAnonymous && !vma.isShared);
  return moveVma(mm, vma, addr, oldLen, newLen, to, (flags & MREMAP_DONTUNMAP) !== 0);
}
