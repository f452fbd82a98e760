// mprotect(2): do_mprotect_pkey and mprotect_fixup (mm/mprotect.c). Like Linux it is not atomic
// over a hole: VMAs before the hole keep their new protection and the call fails with ENOMEM.
import type { Mm } from '../mm.js';
import { Errno, pageAligned, PROT_EXEC, PROT_READ, PROT_WRITE, pageAlignUp, sizeT } from '../uapi.js';
import { protToVmFlags, VM_ACCOUNT, VM_EXEC, VM_HUGETLB, VM_NORESERVE, VM_READ, VM_SHARED, VM_WRITE } from '../vma.js';
import { presentPages } from '../memory.js';
import { modifyRange } from '../vma-ops.js';
import { syscallNr } from '../syscall-nr.js';

const NR_MPROTECT = syscallNr('mprotect');

const PROT_GROWSDOWN = 0x01000000;
const PROT_GROWSUP = 0x02000000;
const PROT_SEM = 0x8;

export function sysMprotect(mm: Mm, addr: number, length: number, prot: number): void {
  mm.countSyscall(NR_MPROTECT);
  addr = sizeT(addr);
  length = sizeT(length);
  if (!pageAligned(addr)) throw new Errno('EINVAL', 'unaligned address');
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP)) throw new Errno('EINVAL');
  if ((prot & (PROT_GROWSDOWN | PROT_GROWSUP)) === (PROT_GROWSDOWN | PROT_GROWSUP)) throw new Errno('EINVAL');
  if (length === 0) return;
  const len = pageAlignUp(length);
  const end = addr + len;
  if (end <= addr || end >= 2 ** 64) throw new Errno('ENOMEM'); // start + len wraps in 64 bits
  mm.lock.write();
  let vma = mm.vmas.findFrom(addr);
  if (!vma || vma.start > addr) throw new Errno('ENOMEM', 'range not mapped');
  const rights = protToVmFlags(prot);
  let at = addr;
  while (vma && at < end) {
    if (vma.start > at) throw new Errno('ENOMEM', 'hole in range');
    let flags = (vma.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | rights;
    // VM_MAY* bits sit four above the rights they allow
    if ((flags & ~(flags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC)) throw new Errno('EACCES');
    if (flags & VM_WRITE) {
      // a private mapping becoming writable is charged for its pages (mprotect_fixup)
      if (!(vma.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
        if (!mm.kernel.vmEnoughMemory(Math.min(end, vma.end) - Math.max(at, vma.start))) throw new Errno('ENOMEM', 'overcommit');
        flags |= VM_ACCOUNT;
      }
    } else if (vma.flags & VM_ACCOUNT && vma.isAnonymous && !vma.anonVma) {
      flags &= ~VM_ACCOUNT;
    }
    const segEnd = Math.min(end, vma.end);
    // taking rights away from present pages needs their TLB entries gone (change_protection)
    if (vma.flags & ~flags & (VM_READ | VM_WRITE | VM_EXEC)) mm.tlb.gather(presentPages(mm, Math.max(at, vma.start), segEnd));
    const done = modifyRange(mm, vma, Math.max(at, vma.start), segEnd, (p) => {
      p.flags = flags;
    });
    at = segEnd;
    vma = done.end > at ? done : done.next;
    if (vma && vma.start < at && vma.end <= at) vma = vma.next;
  }
  if (at < end) throw new Errno('ENOMEM', 'range not mapped');
}
