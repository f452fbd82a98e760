// The mfill_atomic family (mm/userfaultfd.c): UFFDIO_ZEROPAGE, UFFDIO_COPY, UFFDIO_CONTINUE and
// UFFDIO_POISON fill missing PTEs of one registered VMA, page by page, and report how far they
// got. They run under the VMA's lock; the first one in a VMA without an anon_vma takes mmap_lock
// for reading to set it up.
import { readUser } from '../access.js';
import { access, hugetlbAlloc, resolvePage } from '../fault.js';
import { FRAME_ANON, ZERO_PFN } from '../frames.js';
import type { Mm } from '../mm.js';
import { HUGE_ZERO, PTE_GUARD, PTE_NONE, PTE_POISON, PTE_WP_MARKER, PTEF_UFFD_WP, PTEF_UNTOUCHED } from '../page-table.js';
import type { ShmemFile } from '../shmem.js';
import { thpAllowed } from '../thp.js';
import { Errno, type ErrnoName, modPow2, PAGE_SIZE, PMD_SIZE } from '../uapi.js';
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
  if (hugetlb && (modPow2(start, PMD_SIZE) || modPow2(len, PMD_SIZE))) throw fail('EINVAL', 'hugetlbfs needs 2 MiB units');
  const wp = kind === 'copy' ? mode & UFFDIO_COPY_MODE_WP : kind === 'continue' ? mode & UFFDIO_CONTINUE_MODE_WP : 0;
  if (wp && !(vma.flags & VM_UFFD_WP)) throw fail('EINVAL', 'WP mode needs a wp-registered range');
  return vma;
}

/**
 * mfill_atomic: the one loop behind the four ioctls. Each step fills the PTE (or, for
 * ZEROPAGE, as many as it can) at dst + done with the mode's mfill_atomic_pte_* and returns
 * the bytes it did, or throws the Errno that stops the loop; the ioctl then reports how far it
 * got. A PMD mapping in the way is EEXIST for every mode.
 */
function mfillAtomic(ctx: UffdContext, kind: Kind, dst: number, src: number, len: number, mode: number): number {
  const vma = lockDst(ctx, kind, dst, len, mode);
  const mm = ctx.mm;
  if (vma.flags & VM_HUGETLB) return hugetlbFill(mm, vma, dst, src, len, kind === 'copy' ? 'copy' : 'continue');
  const wp = (kind === 'copy' && mode & UFFDIO_COPY_MODE_WP) || (kind === 'continue' && mode & UFFDIO_CONTINUE_MODE_WP);
  const fill: FillStep = {
    mm,
    vma,
    end: dst + len,
    ptef: PTEF_UNTOUCHED | (wp ? PTEF_UFFD_WP : 0),
    hugeZero: kind === 'zeropage' && (mode & UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT) !== 0 && thpAllowed(mm, vma, 'pagefault'),
    // mfill_atomic_pte: a MAP_PRIVATE shmem hole is filled with anonymous memory (or the zero
    // page), never the page cache; only shared mappings fill the file
    file: vma.isShared ? (vma.file as ShmemFile | null) : null,
  };
  const step = PTE_STEPS[kind];
  let done = 0;
  let err: ErrnoName | null = null;
  while (done < len) {
    try {
      done += step(fill, dst + done, src + done);
    } catch (e) {
      if (!(e instanceof Errno)) throw e;
      err = e.code;
      break;
    }
  }
  return finish(done, len, err);
}

/** What every step of one mfill_atomic call shares. */
interface FillStep {
  mm: Mm;
  vma: Vma;
  /** End of the range being filled. */
  end: number;
  /** Flags of the PTEs installed (uffd-wp for the WP modes; all untouched). */
  ptef: number;
  /** The proposed extension: ZEROPAGE maps whole blocks with the huge zero page. */
  hugeZero: boolean;
  /** The page cache filled, for a shared shmem mapping. */
  file: ShmemFile | null;
}

/** A PMD mapping at addr is in the way of every mode (mfill_atomic's pmd_trans_huge check). */
function pmdInTheWay(mm: Mm, addr: number): boolean {
  const e = mm.pt.pmd(addr);
  return e !== undefined && e.huge !== 0;
}

/** A page-cache page at the file offset of addr, new; EEXIST when the cache already has one. */
function newCachePage(f: FillStep, file: ShmemFile, addr: number): number {
  const pgoff = f.vma.pgoffOf(addr);
  if (file.pages.has(pgoff)) throw new Errno('EEXIST', 'page cached');
  const pfn = file.page(f.mm.frames, pgoff);
  f.mm.frames.get(pfn);
  return pfn;
}

/** mfill_atomic_pte_zeropage: zero pages in truly empty PTEs (a zeroed cache page for shared shmem). */
function zeropageStep(f: FillStep, a: number): number {
  const mm = f.mm;
  if (f.hugeZero && modPow2(a, PMD_SIZE) === 0 && f.end - a >= PMD_SIZE && !mm.pt.pmd(a)) {
    // proposed extension: the whole block maps the huge zero page (no PTE table at all)
    mm.kernel.useHugeZero();
    mm.installHugePmd(a, HUGE_ZERO);
    return PMD_SIZE;
  }
  if (pmdInTheWay(mm, a) || mm.pt.pte(a) !== PTE_NONE) throw new Errno('EEXIST', 'mapped');
  if (f.file) {
    // shmem_mfill_atomic_pte: a zeroed page enters the page cache
    mm.installPte(a, newCachePage(f, f.file, a), f.ptef);
    return PAGE_SIZE;
  }
  if (f.hugeZero) {
    mm.installPte(a, ZERO_PFN, f.ptef);
    return PAGE_SIZE;
  }
  // anonymous zero pages, a PMD's worth at a time
  return fillZeroPtes(mm, a, f.end);
}

/** mfill_atomic_pte_copy: a new page holding a page of user memory read at src. */
function copyStep(f: FillStep, a: number, src: number): number {
  const mm = f.mm;
  if (pmdInTheWay(mm, a) || !fillable(mm.pt.pte(a))) throw new Errno('EEXIST', 'mapped');
  // copy_from_user of the source: a page-aligned source is copied frame to frame
  const srcPfn = modPow2(src, PAGE_SIZE) === 0 ? resolvePage(mm, src, access('kernel', false)) : 0;
  if (srcPfn < 0 || (srcPfn === 0 && readUser(mm, src, buf, 0, PAGE_SIZE, 'kernel').done < PAGE_SIZE)) throw new Errno('EFAULT', 'source');
  const pfn = f.file ? newCachePage(f, f.file, a) : mm.frames.alloc(FRAME_ANON);
  if (srcPfn === ZERO_PFN) mm.frames.clear(pfn);
  else if (srcPfn > 0) mm.frames.copy(pfn, srcPfn);
  else mm.frames.write(pfn, 0, buf, 0, PAGE_SIZE);
  mm.installPte(a, pfn, f.ptef);
  return PAGE_SIZE;
}

/** mfill_atomic_pte_continue: map the page the cache holds; none there is EFAULT, a mapped PTE EEXIST. */
function continueStep(f: FillStep, a: number): number {
  const mm = f.mm;
  const pfn = (f.vma.file as ShmemFile).pages.get(f.vma.pgoffOf(a));
  if (pfn === undefined) throw new Errno('EFAULT', 'not cached');
  if (pmdInTheWay(mm, a) || !fillable(mm.pt.pte(a))) throw new Errno('EEXIST', 'mapped');
  mm.frames.get(pfn);
  mm.installPte(a, pfn, f.ptef);
  return PAGE_SIZE;
}

/** mfill_atomic_pte_poison: a poison marker; access then raises SIGBUS. */
function poisonStep(f: FillStep, a: number): number {
  const mm = f.mm;
  if (pmdInTheWay(mm, a) || mm.pt.pte(a) !== PTE_NONE) throw new Errno('EEXIST', 'mapped');
  mm.pt.setPte(a, PTE_POISON);
  return PAGE_SIZE;
}

const PTE_STEPS: Record<Kind, (f: FillStep, a: number, src: number) => number> = {
  zeropage: zeropageStep,
  copy: copyStep,
  continue: continueStep,
  poison: poisonStep,
};

/**
 * Map the zero page into every PTE of [start, end) that is none, PMD by PMD; stops at the first
 * PTE that holds anything, a marker included, or at a PMD mapping. Returns the bytes done.
 */
function fillZeroPtes(mm: Mm, start: number, end: number): number {
  let a = start;
  while (a < end) {
    const pe = mm.pt.pmd(a);
    if (pe && pe.huge !== 0) break;
    const e = pe ?? mm.pt.pmdAlloc(a);
    const t = mm.pt.pteAlloc(e);
    const f = e.pteFlags!;
    const stop = Math.min(end, e.base + PMD_SIZE);
    let i = (a - e.base) / PAGE_SIZE;
    for (; a < stop; a += PAGE_SIZE, i++) {
      if (t[i] !== PTE_NONE) break; // mfill_atomic_pte_zeropage: only a truly empty PTE
      e.used++;
      t[i] = ZERO_PFN;
      f[i] = PTEF_UNTOUCHED;
    }
    mm.pt.dropIfEmpty(e);
    if (a < stop) break;
  }
  return a - start;
}

/** UFFDIO_ZEROPAGE: map zero pages (and, with the extension, huge zero pages). */
export function uffdZeropage(ctx: UffdContext, start: number, len: number, mode = 0): number {
  return mfillAtomic(ctx, 'zeropage', start, 0, len, mode);
}

/** UFFDIO_COPY: new pages holding len bytes read from user memory at src. */
export function uffdCopy(ctx: UffdContext, dst: number, src: number, len: number, mode = 0): number {
  if (ctx.ready && len > 0 && src < dst + len && dst < src + len) throw new UffdError('EINVAL', 0, 'source overlaps destination');
  return mfillAtomic(ctx, 'copy', dst, src, len, mode);
}

/** UFFDIO_CONTINUE: map pages already in the page cache (minor faults). */
export function uffdContinue(ctx: UffdContext, start: number, len: number, mode = 0): number {
  return mfillAtomic(ctx, 'continue', start, 0, len, mode);
}

/** UFFDIO_POISON: a poison marker in each missing PTE; access then raises SIGBUS. */
export function uffdPoison(ctx: UffdContext, start: number, len: number, mode = 0): number {
  return mfillAtomic(ctx, 'poison', start, 0, len, mode);
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
    mm.pt.mapHuge(pe, head);
    pe.hugetlb = true;
    done += PMD_SIZE;
  }
  return finish(done, len, err);
}
