// A software TLB for the program's own stores: recent translations of writable pages (page →
// frame), so that a store into a page written moments ago skips the page walk. It is the
// simulator's shortcut, not a model of the CPU's TLB: no count or cost ever sees it, and every
// entry is dropped as soon as the kernel may have changed any translation — a syscall, any
// mmap_lock or VMA lock taken (every fault and every kernel scan takes one), or a present entry
// removed or weakened (an mmu_gather, which is how Linux itself knows to flush).
import type { Mm } from './mm.js';

/** A power of two. */
const ENTRIES = 64;

export class UserTlb {
  private readonly pages = new Float64Array(ENTRIES);
  private readonly pfns = new Float64Array(ENTRIES);
  /** Per entry, the kernel's change counters (summed; they only grow) when it was made. */
  private readonly epochs = new Float64Array(ENTRIES).fill(-1);

  constructor(private readonly mm: Mm) {}

  private epoch(): number {
    const mm = this.mm;
    const l = mm.lock.total;
    return mm.syscallCount + l.write + l.read + l.vma + mm.tlb.gathered;
  }

  /** The frame a store into this page (an address / PAGE_SIZE) may use as it is, or 0 to walk the page table. */
  lookup(page: number): number {
    const i = page & (ENTRIES - 1); // ToInt32 keeps the low bits
    return this.pages[i] === page && this.epochs[i] === this.epoch() ? this.pfns[i] : 0;
  }

  /** A store into page found it writable at pfn without faulting. */
  insert(page: number, pfn: number): void {
    const i = page & (ENTRIES - 1);
    this.pages[i] = page;
    this.pfns[i] = pfn;
    this.epochs[i] = this.epoch();
  }
}
