// The mfill_atomic family (mm/userfaultfd.c): UFFDIO_ZEROPAGE, UFFDIO_COPY, UFFDIO_CONTINUE and
// UFFDIO_POISON fill missing PTEs of one registered VMA, page by page, and report how far they
// got. They run under the VMA's lock; the first one in a VMA without an anon_vma takes mmap_lock
// for reading to set it up.
import { readUser } from '../access.js';
import { access, hugetlbAlloc, resolvePage } from '../fault.js';
import { FRAME_ANON, ZERO_PFN } from '../frames.js';
import type { Mm } from '../mm.js';
import { HUGE_ZERO, PTE_GUARD, PTE_NONE, PTE_POISON, PTE_WP_MARKER, PTEF_UFFD_WP } from '../page-table.js';
import type { ShmemFile } from '../shmem.js';
import { thpAllowed } from '../thp.js';
import { Errno, type ErrnoName, PAGE_SIZE, PMD_SIZE } from '../uapi.js';
import { VM_HUGETLB, VM_SHARED, VM_UFFD_MINOR, VM_UFFD_WP, type Vma } from '../vma.js';
import type { UffdContext } from './context.js';
import { validateRange } from './register.js';
import {
  UFFDIO_CONTINUE_MODE_DONTWAKE,
  UFFDIO_CONTINUE_MODE_WP,
  UFFDIO_COPY_MODE_DONTWAKE,
  UFFDIO_COPY_MODE_WP,
  UFFDIO_POISON_MODE_DONTWAKE,
  UFFDIO_ZEROPAGE_MODE_DONTWAKE,
  UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT,
  UffdError,
} from './uapi.js';

type Kind = 'zeropage' | 'copy' | 'continue' | 'poison';

/** Bounce buffer for unaligned COPY sources. */
const buf = new Uint8Array(PAGE_SIZE);

const MODES: Record<Kind, number> = {
  zeropage: UFFDIO_ZEROPAGE_MODE_DONTWAKE | UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT,
  copy: UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP,
  continue: UFFDIO_CONTINUE_MODE_DONTWAKE | UFFDIO_CONTINUE_MODE_WP,
  poison: UFFDIO_POISON_MODE_DONTWAKE,
};

/**
 * A PTE that COPY and CONTINUE may fill (mfill_atomic_install_pte's pte_none_mostly): none, or
 * any marker — a guard or poison marker is overwritten. ZEROPAGE and POISON want it truly none.
 */
function fillable(v: number): boolean {
  return v === PTE_NONE || v === PTE_WP_MARKER || v === PTE_GUARD || v === PTE_POISON;
}

/** The outcome as the ioctl reports it: all done, or an error with the progress field. */
function finish(done: number, len: number, err: ErrnoName | null): number {
  if (done === len) return done;
  if (done > 0) throw new UffdError('EAGAIN', done, 'stopped part way');
  const code = err ?? 'EAGAIN';
  throw new UffdError(code, -new Errno(code).errno);
}

/** uffd_mfill_lock + the checks of mfill_atomic that come before any page is touched. */
function lockDst(ctx: UffdContext, kind: Kind, start: number, len: number, mode: number): Vma {
  const mm = ctx.mm;
  if (!ctx.ready) throw new UffdError('EINVAL', 0, 'UFFDIO_API not done');
  try {
    validateRange(start, len);
  } catch (e) {
    throw new UffdError('EINVAL', 0, (e as Error).message);
  }
  if (mode & ~MODES[kind]) throw new UffdError('EINVAL', 0, 'bad mode');
  const vma = mm.vmas.find(start);
  // uffd_mfill_lock prepares a private VMA's anon_vma before anything is checked, so even a
  // refused fill leaves it with one (which later decides whether the VMA can merge)
  // uffd_lock_vma: the per-VMA lock, or mmap_lock for reading when there is no VMA there or it
  // needs its anon_vma
  if (!vma || (!vma.isShared && mm.anonVmaPrepare(vma))) mm.lock.read();
  else mm.lock.vma();
  // validate_dst_vma: one VMA must cover the range, and it must be registered
  if (!vma || start + len > vma.end || !vma.uffd) throw new UffdError('ENOENT', -2, 'range not registered');
  const fail = (code: ErrnoName, why: string) => new UffdError(code, -new Errno(code).errno, why);
  const hugetlb = (vma.flags & VM_HUGETLB) !== 0;
  if (kind === 'continue' && !(vma.file && vma.flags & VM_SHARED)) throw fail('EINVAL', 'CONTINUE needs shmem');
  if (kind === 'continue' && !hugetlb && !(vma.flags & VM_UFFD_MINOR)) throw fail('EINVAL', 'not registered in minor mode');
  if (hugetlb && (kind === 'zeropage' || kind === 'poison')) throw fail('EINVAL', 'not on hugetlbfs');
  // mfill_atomic_hugetlb works in whole huge pages
  if (hugetlb && (start % PMD_SIZE || len % PMD_SIZE)) throw fail('EINVAL', 'hugetlbfs needs 2 MiB units');
  const wp = kind === 'copy' ? mode & UFFDIO_COPY_MODE_WP : kind === 'continue' ? mode & UFFDIO_CONTINUE_MODE_WP : 0;
  if (wp && !(vma.flags & VM_UFFD_WP)) throw fail('EINVAL', 'WP mode needs a wp-registered range');
  return vma;
}

/** UFFDIO_ZEROPAGE: map zero pages (and, with the extension, huge zero pages). */
export function uffdZeropage(ctx: UffdContext, start: number, len: number, mode = 0): number {
  const vma = lockDst(ctx, 'zeropage', start, len, mode);
  const mm = ctx.mm;
  const huge = (mode & UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT) !== 0 && thpAllowed(mm, vma, false);
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    const a = start + done;
    const e = mm.pt.pmd(a);
    if (huge && a % PMD_SIZE === 0 && len - done >= PMD_SIZE && !e) {
      // proposed extension: the whole block maps the huge zero page (no PTE table at all)
      mm.kernel.useHugeZero();
      mm.installHugePmd(a, HUGE_ZERO);
      done += PMD_SIZE;
      continue;
    }
    if ((e && e.huge !== 0) || mm.pt.pte(a) !== PTE_NONE) {
      err = 'EEXIST';
      break;
    }
    // mfill_atomic_pte: a MAP_PRIVATE shmem hole is filled with anonymous memory (or the zero
    // page), never the page cache; only shared mappings fill the file
    const file = vma.isShared ? (vma.file as ShmemFile | null) : null;
    if (!file && !huge) {
      // anonymous zero pages, a PMD's worth at a time
      done += mm.fillZeroPtes(a, start + len);
      continue;
    }
    if (file) {
      // shmem_mfill_atomic_pte: a zeroed page enters the page cache
      const pgoff = vma.pgoffOf(a);
      if (file.pages.has(pgoff)) {
        err = 'EEXIST';
        break;
      }
      const pfn = file.page(mm.frames, pgoff, true);
      mm.frames.get(pfn);
      mm.installPte(a, pfn);
    } else {
      mm.installPte(a, ZERO_PFN);
    }
    done += PAGE_SIZE;
  }
  return finish(done, len, err);
}

/** UFFDIO_COPY: new pages holding len bytes read from user memory at src. */
export function uffdCopy(ctx: UffdContext, dst: number, src: number, len: number, mode = 0): number {
  if (ctx.ready && len > 0 && src < dst + len && dst < src + len) throw new UffdError('EINVAL', 0, 'source overlaps destination');
  const vma = lockDst(ctx, 'copy', dst, len, mode);
  const mm = ctx.mm;
  if (vma.flags & VM_HUGETLB) return hugetlbFill(mm, vma, dst, src, len, 'copy');
  const flags = mode & UFFDIO_COPY_MODE_WP ? PTEF_UFFD_WP : 0;
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    const a = dst + done;
    const e = mm.pt.pmd(a);
    if ((e && e.huge !== 0) || !fillable(mm.pt.pte(a))) {
      err = 'EEXIST';
      break;
    }
    // copy_from_user of the source: a page-aligned source is copied frame to frame
    const srcPfn = (src + done) % PAGE_SIZE === 0 ? resolvePage(mm, src + done, access('kernel', false)) : 0;
    if (srcPfn < 0 || (srcPfn === 0 && readUser(mm, src + done, buf, 0, PAGE_SIZE, true).done < PAGE_SIZE)) {
      err = 'EFAULT';
      break;
    }
    const file = vma.isShared ? (vma.file as ShmemFile | null) : null; // as in uffdZeropage
    let pfn: number;
    if (file) {
      const pgoff = vma.pgoffOf(a);
      if (file.pages.has(pgoff)) {
        err = 'EEXIST';
        break;
      }
      pfn = file.page(mm.frames, pgoff, true);
      mm.frames.get(pfn);
    } else {
      pfn = mm.frames.alloc(FRAME_ANON);
    }
    if (srcPfn === ZERO_PFN) mm.frames.clear(pfn);
    else if (srcPfn > 0) mm.frames.copy(pfn, srcPfn);
    else mm.frames.write(pfn, 0, buf, 0, PAGE_SIZE);
    mm.installPte(a, pfn, flags);
    done += PAGE_SIZE;
  }
  return finish(done, len, err);
}

/** UFFDIO_CONTINUE: map pages already in the page cache (minor faults). */
export function uffdContinue(ctx: UffdContext, start: number, len: number, mode = 0): number {
  const vma = lockDst(ctx, 'continue', start, len, mode);
  const mm = ctx.mm;
  if (vma.flags & VM_HUGETLB) return hugetlbFill(mm, vma, start, 0, len, 'continue');
  const file = vma.file as ShmemFile;
  const flags = mode & UFFDIO_CONTINUE_MODE_WP ? PTEF_UFFD_WP : 0;
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    const a = start + done;
    const pfn = file.pages.get(vma.pgoffOf(a));
    // mfill_atomic_pte_continue: no page in the cache is EFAULT, a mapped one EEXIST
    if (pfn === undefined) {
      err = 'EFAULT';
      break;
    }
    if (!fillable(mm.pt.pte(a))) {
      err = 'EEXIST';
      break;
    }
    mm.frames.get(pfn);
    mm.installPte(a, pfn, flags);
    done += PAGE_SIZE;
  }
  return finish(done, len, err);
}

/** UFFDIO_POISON: a poison marker in each missing PTE; access then raises SIGBUS. */
export function uffdPoison(ctx: UffdContext, start: number, len: number, mode = 0): number {
  lockDst(ctx, 'poison', start, len, mode);
  const mm = ctx.mm;
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    const a = start + done;
    const e = mm.pt.pmd(a);
    if ((e && e.huge !== 0) || mm.pt.pte(a) !== PTE_NONE) {
      err = 'EEXIST';
      break;
    }
    mm.pt.setPte(a, PTE_POISON);
    done += PAGE_SIZE;
  }
  return finish(done, len, err);
}

/**
 * mfill_atomic_hugetlb: COPY allocates each 2 MiB page (from the pool) and fills it from user
 * memory; CONTINUE maps a page already in the cache. A mapped page is EEXIST; COPY over a page
 * already cached is EEXIST too; CONTINUE of a page not cached is EFAULT.
 */
function hugetlbFill(mm: Mm, vma: Vma, dst: number, src: number, len: number, kind: 'copy' | 'continue'): number {
  const file = vma.file as ShmemFile;
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    const a = dst + done;
    const e = mm.pt.pmd(a);
    const idx = vma.pgoffOf(a);
    const cached = file.pages.get(idx);
    if ((e && e.huge !== 0) || (kind === 'copy' && cached !== undefined)) {
      err = 'EEXIST';
      break;
    }
    let head = cached ?? -1;
    if (kind === 'continue' && head < 0) {
      err = 'EFAULT';
      break;
    }
    if (kind === 'copy') {
      head = hugetlbAlloc(mm, file, idx);
      if (head < 0) {
        err = 'ENOMEM';
        break;
      }
      for (let i = 0; i < 512; i++) {
        const from = src + done + i * PAGE_SIZE;
        const pfn = resolvePage(mm, from, access('kernel', false));
        if (pfn < 0) {
          err = 'EFAULT';
          break;
        }
        if (pfn !== ZERO_PFN) mm.frames.copy(head + i, pfn);
      }
      if (err) break;
    }
    const pe = mm.pt.pmdAlloc(a);
    pe.huge = head;
    pe.hugetlb = true;
    done += PMD_SIZE;
  }
  return finish(done, len, err);
}
