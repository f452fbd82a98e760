// UFFDIO_MOVE (mm/userfaultfd.c: move_pages, Linux 6.8+): move anonymous pages from src to dst
// without copying a byte. The page changes owner (its anon_vma and index follow the destination
// VMA), which is what lets a merged VMA own pages that were born elsewhere. A whole THP moves as
// one PMD when both sides are 2 MiB-aligned and the range covers it; otherwise it is split.
import { FRAME_ANON, ZERO_PFN } from '../frames.js';
import { PTE_NONE, PTEF_UNTOUCHED } from '../page-table.js';
import { splitFolio, splitHugePmd } from '../thp.js';
import { Errno, type ErrnoName, modPow2, PAGE_SIZE, PMD_SIZE } from '../uapi.js';
import { VM_EXEC, VM_HUGETLB, VM_LOCKED, VM_PFNMAP, VM_READ, VM_WRITE, type Vma } from '../vma.js';
import type { UffdContext } from './context.js';
import { validateRange } from './register.js';
import { UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, UFFDIO_MOVE_MODE_DONTWAKE, UffdError } from './uapi.js';

const ACCESS = VM_READ | VM_WRITE | VM_EXEC;

function fail(code: ErrnoName, why: string): UffdError {
  return new UffdError(code, -new Errno(code).errno, why);
}

/**
 * validate_move_areas: the same access rights, both mlocked or neither, writable (only writable
 * VMAs for now), nothing special, the destination registered with this context, both anonymous.
 */
function checkAreas(ctx: UffdContext, src: Vma, dst: Vma): void {
  if ((src.flags & ACCESS) !== (dst.flags & ACCESS)) throw fail('EINVAL', 'different protections');
  if ((src.flags & VM_LOCKED) !== (dst.flags & VM_LOCKED)) throw fail('EINVAL', 'one side mlocked');
  if (!(src.flags & VM_WRITE)) throw fail('EINVAL', 'not writable');
  if ((src.flags | dst.flags) & (VM_PFNMAP | VM_HUGETLB)) throw fail('EINVAL', 'special mapping');
  if (!dst.uffd || dst.uffd !== ctx) throw fail('EINVAL', 'destination not registered with this userfaultfd');
  if (!src.isAnonymous || src.isShared || !dst.isAnonymous || dst.isShared) throw fail('EINVAL', 'not private anonymous memory');
}

export function uffdMove(ctx: UffdContext, dst: number, src: number, len: number, mode = 0): number {
  const mm = ctx.mm;
  // before Linux 6.8 there is no such ioctl: userfaultfd_ioctl answers an unknown one with EINVAL
  if (!mm.kernel.settings.uffdMove) throw new UffdError('EINVAL', 0, 'UFFDIO_MOVE is not in this kernel');
  if (!ctx.ready) throw new UffdError('EINVAL', 0, 'UFFDIO_API not done');
  try {
    validateRange(dst, len);
    validateRange(src, len);
  } catch (e) {
    throw new UffdError('EINVAL', 0, (e as Error).message);
  }
  if (mode & ~(UFFDIO_MOVE_MODE_DONTWAKE | UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)) throw new UffdError('EINVAL', 0, 'bad mode');
  // uffd_move_lock: per-VMA locks on both (no VMA at either start is ENOENT); the destination
  // may need its anon_vma first. Overlapping ranges are not refused: the pages meet EEXIST.
  const dstVma = mm.vmas.find(dst);
  const srcVma = mm.vmas.find(src);
  // uffd_lock_vma prepares the destination's anon_vma as it locks it, before any check, falling
  // back to mmap_lock for a missing destination VMA or one needing its anon_vma; the source is
  // then tried under its per-VMA lock, and a missing one costs another pass under mmap_lock
  // (find_vmas_mm_locked)
  const prepared = dstVma !== null && !dstVma.isShared && mm.anonVmaPrepare(dstVma);
  if (prepared || !dstVma) mm.lock.read();
  else mm.lock.vma();
  if (dstVma && !srcVma) mm.lock.read();
  if (!dstVma || !srcVma) throw fail('ENOENT', 'no VMA at the start of a range');
  if (dst + len > dstVma.end || src + len > srcVma.end) throw fail('EINVAL', 'range runs past its VMA');
  checkAreas(ctx, srcVma, dstVma);
  const holes = (mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) !== 0;
  let done = 0;
  let err: ErrnoName | null = null;
  // move_pages: a THP destination is EEXIST, a huge source moves whole or is split, and a source
  // with no page table at all is ENOENT before the destination's PTE is looked at; then
  // move_pages_pte checks the destination PTE (EEXIST) before the source PTE (ENOENT)
  while (done < len) {
    const s = src + done;
    const d = dst + done;
    const se = mm.pt.pmd(s);
    const de = mm.pt.pmd(d);
    if (de && de.huge !== 0) {
      err = 'EEXIST';
      break;
    }
    if (se && se.huge !== 0) {
      if (modPow2(s, PMD_SIZE) === 0 && modPow2(d, PMD_SIZE) === 0 && len - done >= PMD_SIZE && !de) {
        // move_pages_huge_pmd: the PMD changes hands whole
        const target = mm.pt.pmdAlloc(d);
        mm.pt.mapHuge(target, se.huge);
        target.hugeFlags = 0;
        se.huge = 0;
        se.hugeFlags = 0;
        mm.pt.dropIfEmpty(se);
        mm.tlb.gather(1);
        mm.tlb.finish(); // pmdp_huge_clear_flush: flushed as it moves
        done += PMD_SIZE;
        continue;
      }
      splitHugePmd(mm, se); // the folio is split by the PTE path below
    } else if (!se) {
      if (!holes) {
        err = 'ENOENT';
        break;
      }
      mm.pt.pteAlloc(mm.pt.pmdAlloc(s)); // __pte_alloc: the hole gets an (empty) PTE table
    }
    if (mm.pt.pte(d) !== PTE_NONE) {
      err = 'EEXIST';
      break;
    }
    let v = mm.pt.pte(s);
    if (v === PTE_NONE) {
      if (!holes) {
        err = 'ENOENT';
        break;
      }
      mm.tlb.finish(); // a hole ends the batch
      done += PAGE_SIZE;
      continue;
    }
    if (v < 0) {
      err = 'EFAULT'; // a marker (guard, poison, uffd-wp) is not a page that can move
      break;
    }
    // move_pages_pte splits a large source folio and retries (its zero subpages become zero-page
    // PTEs, which move as such: move_zeropage_pte)
    if (v !== ZERO_PFN && splitFolio(mm, srcVma, s)) v = mm.pt.pte(s);
    if (v !== ZERO_PFN && (!(mm.frames.flags(v) & FRAME_ANON) || mm.frames.refs(v) !== 1)) {
      err = 'EBUSY'; // only exclusive anonymous pages move (folio_maybe_mapped_shared)
      break;
    }
    mm.pt.clearPte(s);
    mm.pt.setPte(d, v, PTEF_UNTOUCHED);
    mm.tlb.gather(1);
    done += PAGE_SIZE;
    // move_present_ptes (6.18) flushes a batch of present pages once, a batch ending at either
    // side's PMD boundary; a zero page moves alone (move_zeropage_pte)
    if (v === ZERO_PFN || modPow2(s + PAGE_SIZE, PMD_SIZE) === 0 || modPow2(d + PAGE_SIZE, PMD_SIZE) === 0) mm.tlb.finish();
  }
  mm.tlb.finish();
  if (done === len) return done;
  if (done > 0) throw new UffdError('EAGAIN', done, 'stopped part way');
  throw fail(err ?? 'EAGAIN', 'nothing moved');
}
