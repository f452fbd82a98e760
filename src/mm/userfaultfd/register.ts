// UFFDIO_API, UFFDIO_REGISTER and UFFDIO_UNREGISTER (fs/userfaultfd.c). Registration is a VMA
// flag change: it splits VMAs at the range's edges and merges them back when flags agree, and
// takes mmap_lock for writing.
import type { Mm } from '../mm.js';
import { Errno, pageAligned, sizeT, TASK_SIZE } from '../uapi.js';
import { VM_HUGETLB, VM_MAYWRITE, VM_SHARED, VM_UFFD_FLAGS, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, type Vma } from '../vma.js';
import type { UffdContext } from './context.js';
import {
  _UFFDIO_CONTINUE,
  _UFFDIO_MOVE,
  _UFFDIO_WRITEPROTECT,
  _UFFDIO_ZEROPAGE,
  UFFD_API,
  UFFD_API_RANGE_IOCTLS,
  UFFD_FEATURE_WP_ASYNC,
  UFFD_FEATURE_WP_UNPOPULATED,
  UFFD_FEATURES,
  UFFD_SUPPORTED_FEATURES,
  UFFD_FEATURE_MOVE,
  UFFDIO_REGISTER_MODE_MINOR,
  UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_REGISTER_MODE_WP,
} from './uapi.js';
import { modifyRange } from '../vma-ops.js';

const ALL_FEATURES = Object.values(UFFD_FEATURES).reduce((a, b) => a | b, 0);

/** UFFDIO_API: agree on features. Returns the features the simulator offers (as Linux reports all it has). */
export function uffdApi(ctx: UffdContext, api: number, features: number): number {
  if (ctx.ready) throw new Errno('EINVAL', 'UFFDIO_API already done');
  if (api !== UFFD_API) throw new Errno('EINVAL', 'unknown API');
  if (features & ~ALL_FEATURES) throw new Errno('EINVAL', 'unknown feature');
  const offered = ctx.mm.kernel.settings.uffdMove ? UFFD_SUPPORTED_FEATURES : UFFD_SUPPORTED_FEATURES & ~UFFD_FEATURE_MOVE;
  if (features & ~offered) throw new Errno('EINVAL', 'feature not supported by this kernel');
  // WP_ASYNC relies on WP_UNPOPULATED (userfaultfd_api)
  if (features & UFFD_FEATURE_WP_ASYNC) features |= UFFD_FEATURE_WP_UNPOPULATED;
  ctx.features = features;
  ctx.ready = true;
  return offered;
}

/** validate_range: page-aligned, non-empty, inside user space. */
export function validateRange(start: number, len: number): void {
  // struct uffdio_range holds __u64s: a negative value is a huge one
  start = sizeT(start);
  len = sizeT(len);
  if (!pageAligned(start) || !pageAligned(len)) throw new Errno('EINVAL', 'unaligned range');
  if (len === 0) throw new Errno('EINVAL', 'empty range');
  if (start >= TASK_SIZE || len > TASK_SIZE - start) throw new Errno('EINVAL', 'range beyond user space');
}

/** vma_can_userfault: anonymous and shmem memory (MINOR needs shmem), writable mappings only. */
function canUserfault(vma: Vma, vmFlags: number): boolean {
  if (!(vma.flags & VM_MAYWRITE)) return false;
  if (vmFlags & VM_UFFD_MINOR && !(vma.file && vma.flags & VM_SHARED)) return false;
  return vma.isAnonymous || vma.file !== null;
}

function modeFlags(mode: number): number {
  if (!mode || mode & ~(UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR)) {
    throw new Errno('EINVAL', 'bad register mode');
  }
  return (
    (mode & UFFDIO_REGISTER_MODE_MISSING ? VM_UFFD_MISSING : 0) |
    (mode & UFFDIO_REGISTER_MODE_WP ? VM_UFFD_WP : 0) |
    (mode & UFFDIO_REGISTER_MODE_MINOR ? VM_UFFD_MINOR : 0)
  );
}

/**
 * UFFDIO_REGISTER: every VMA in the range (holes are allowed, but at least one VMA must be there)
 * gets the mode's flags and this context. Returns the ioctls the range supports.
 */
export function uffdRegister(ctx: UffdContext, start: number, len: number, mode: number): number {
  const mm = ctx.mm;
  if (!ctx.ready) throw new Errno('EINVAL', 'UFFDIO_API not done');
  const vmFlags = modeFlags(mode);
  validateRange(start, len);
  const end = start + len;
  mm.lock.write();
  const vmas = mm.vmas.overlapping(start, end);
  if (!vmas.length) throw new Errno('EINVAL', 'no VMA in range');
  // check everything before changing anything
  for (const v of vmas) {
    if (!canUserfault(v, vmFlags)) throw new Errno('EINVAL', `cannot register ${v}`);
    if (v.uffd && v.uffd !== ctx) throw new Errno('EBUSY', 'registered with another userfaultfd');
  }
  // a VMA of this context that already has every requested mode is left as it is
  // (userfaultfd_register_range skips it); the others get exactly the requested modes
  const todo = vmas.filter((v) => !(v.uffd === ctx && (v.flags & vmFlags) === vmFlags));
  applyRange(mm, todo, start, end, (flags) => (flags & ~VM_UFFD_FLAGS) | vmFlags, ctx);
  // hugetlbfs ranges get UFFD_API_RANGE_IOCTLS_BASIC: no ZEROPAGE, no MOVE
  const basic = vmas.some((v) => v.flags & VM_HUGETLB);
  let ioctls = basic ? UFFD_API_RANGE_IOCTLS & ~(1 << _UFFDIO_ZEROPAGE) & ~(1 << _UFFDIO_MOVE) : UFFD_API_RANGE_IOCTLS;
  if (!mm.kernel.settings.uffdMove) ioctls &= ~(1 << _UFFDIO_MOVE);
  if (!(mode & UFFDIO_REGISTER_MODE_WP)) ioctls &= ~(1 << _UFFDIO_WRITEPROTECT);
  if (!(mode & UFFDIO_REGISTER_MODE_MINOR)) ioctls &= ~(1 << _UFFDIO_CONTINUE);
  return ioctls;
}

/** UFFDIO_UNREGISTER: the range's VMAs lose their registration (and may merge again). */
export function uffdUnregister(ctx: UffdContext, start: number, len: number): void {
  const mm = ctx.mm;
  if (!ctx.ready) throw new Errno('EINVAL', 'UFFDIO_API not done');
  validateRange(start, len);
  const end = start + len;
  mm.lock.write();
  const vmas = mm.vmas.overlapping(start, end);
  if (!vmas.length) throw new Errno('EINVAL', 'no VMA in range');
  for (const v of vmas) if (v.uffd && v.uffd !== ctx) throw new Errno('EINVAL', 'registered with another userfaultfd');
  applyRange(mm, vmas, start, end, (flags) => flags & ~VM_UFFD_FLAGS, null);
}

/** Drop every registration of a context (userfaultfd_release, on close). */
export function uffdRelease(ctx: UffdContext): void {
  const mine = [...ctx.mm.vmas].filter((v) => v.uffd === ctx);
  if (!mine.length) return;
  ctx.mm.lock.write();
  for (const v of mine) applyRange(ctx.mm, [v], v.start, v.end, (f) => f & ~VM_UFFD_FLAGS, null);
}

function applyRange(mm: Mm, vmas: Vma[], start: number, end: number, flagsOf: (f: number) => number, ctx: UffdContext | null): void {
  for (const v of vmas) {
    const s = Math.max(start, v.start);
    const e = Math.min(end, v.end);
    // the VMA may have been merged into its predecessor by the previous step
    const cur = mm.vmas.find(s)!;
    modifyRange(mm, cur, s, e, (p) => {
      p.flags = flagsOf(p.flags);
      p.uffd = ctx;
    });
  }
}
