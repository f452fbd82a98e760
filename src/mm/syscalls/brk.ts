// brk(2): the heap grows and shrinks at its top (mm/mmap.c: brk, do_brk_flags). Failure is not an
// error code: brk returns the old break, which is how glibc's sbrk learns it failed.
import type { Mm } from '../mm.js';
import { pageAlignUp, PAGE_SIZE } from '../uapi.js';
import { newProto, Vma, VM_ACCOUNT, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE } from '../vma.js';
import { doMunmap } from './munmap.js';
import { insertVma, mergeNewRange } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_BRK = syscallNr('brk');

const BRK_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;

export function sysBrk(mm: Mm, brk: number): number {
  mm.countSyscall(NR_BRK);
  mm.lock.write();
  if (brk < mm.startBrk) return mm.brk;
  const newTop = pageAlignUp(brk);
  const oldTop = pageAlignUp(mm.brk);
  if (newTop === oldTop) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    // shrinking unmaps, then downgrades the lock like munmap
    doMunmap(mm, newTop, oldTop);
    mm.lock.downgrade();
    mm.brk = brk;
    return brk;
  }
  if (!mm.vmas.isFree(oldTop, newTop + PAGE_SIZE)) return mm.brk; // stack_guard_gap, simplified
  if (!mm.kernel.vmEnoughMemory(newTop - oldTop)) return mm.brk; // do_brk_flags: ENOMEM
  const p = newProto(BRK_FLAGS, oldTop / PAGE_SIZE, (newTop - oldTop) / PAGE_SIZE);
  if (!mergeNewRange(mm, oldTop, newTop, p)) {
    if (mm.mapCount > mm.kernel.settings.maxMapCount) return mm.brk;
    insertVma(mm, new Vma(oldTop, newTop, BRK_FLAGS, p.pgoff));
  }
  mm.brk = brk;
  return brk;
}
