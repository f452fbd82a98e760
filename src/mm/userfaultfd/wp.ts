// UFFDIO_WRITEPROTECT (mm/userfaultfd.c: mwriteprotect_range) and UFFDIO_WAKE. Protection is a
// bit in each PTE; an unpopulated PTE is protected by a marker where the memory is shmem or the
// context asked for UFFD_FEATURE_WP_UNPOPULATED.
import { PTE_NONE, PTE_WP_MARKER, PTEF_UFFD_WP, pteIndex } from '../page-table.js';
import { Errno, PAGE_SIZE } from '../uapi.js';
import { VM_UFFD_WP } from '../vma.js';
import type { UffdContext } from './context.js';
import { validateRange } from './register.js';
import { UFFD_FEATURE_WP_UNPOPULATED, UFFDIO_WRITEPROTECT_MODE_DONTWAKE, UFFDIO_WRITEPROTECT_MODE_WP } from './uapi.js';

export function uffdWriteprotect(ctx: UffdContext, start: number, len: number, mode: number): void {
  const mm = ctx.mm;
  if (!ctx.ready) throw new Errno('EINVAL', 'UFFDIO_API not done');
  validateRange(start, len);
  if (mode & ~(UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE)) throw new Errno('EINVAL', 'bad mode');
  const on = (mode & UFFDIO_WRITEPROTECT_MODE_WP) !== 0;
  if (on && mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE) throw new Errno('EINVAL', 'DONTWAKE with WP');
  mm.lock.read();
  const end = start + len;
  const vmas = mm.vmas.overlapping(start, end);
  if (!vmas.length) throw new Errno('ENOENT', 'no VMA in range');
  for (const v of vmas) if (!(v.flags & VM_UFFD_WP)) throw new Errno('ENOENT', `${v} not registered for wp`);
  for (const v of vmas) {
    const s = Math.max(start, v.start);
    const e = Math.min(end, v.end);
    const markers = on && (v.file !== null || ctx.has(UFFD_FEATURE_WP_UNPOPULATED));
    for (const pe of mm.pt.pmdsIn(s, e)) {
      if (pe.huge !== 0) pe.hugeFlags = on ? PTEF_UFFD_WP : 0;
    }
    for (let a = s; a < e; a += PAGE_SIZE) {
      const pe = mm.pt.pmd(a);
      if (pe && pe.huge !== 0) continue;
      const pte = mm.pt.pte(a);
      if (pte > 0) {
        const i = pteIndex(a);
        pe!.pteFlags![i] = on ? pe!.pteFlags![i] | PTEF_UFFD_WP : pe!.pteFlags![i] & ~PTEF_UFFD_WP;
      } else if (pte === PTE_NONE && markers) {
        mm.pt.setPte(a, PTE_WP_MARKER);
      } else if (pte === PTE_WP_MARKER && !on) {
        mm.pt.clearPte(a);
      }
    }
  }
}

/** UFFDIO_WAKE: wake threads waiting on the range. Faults here complete synchronously. */
export function uffdWake(ctx: UffdContext, start: number, len: number): void {
  if (!ctx.ready) throw new Errno('EINVAL', 'UFFDIO_API not done');
  validateRange(start, len);
}
