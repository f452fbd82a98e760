// TLB shootdowns as the kernel's mmu_gather does them: an operation that removes or weakens
// present page-table entries gathers them and flushes once at its end — a ranged flush, or a full
// one above x86's 33-page ceiling (tlb_single_page_flush_ceiling) — and every other CPU the mm is
// active on (mm_cpumask) takes an IPI to flush too.

/** x86's tlb_single_page_flush_ceiling. */
export const FLUSH_CEILING = 33;

export class TlbState {
  /** Flushes done, and how many of them were full flushes. */
  flushes = 0;
  fullFlushes = 0;
  /** IPIs sent to other CPUs. */
  ipis = 0;
  /** Entries gathered since the start (a change counter for caches of translations). */
  gathered = 0;
  /** Entries gathered by the operation under way. */
  private pending = 0;
  /** CPUs the mm is active on (mm_cpumask): one per running thread, set by Process.setThreads. */
  cpusActive = 1;
  /** The tlb_flush tracepoint, wired by the Mm. */
  onFlush: ((entries: number, ipis: number) => void) | null = null;

  /** An operation removed or weakened n present entries (a PMD mapping counts as one). */
  gather(n: number): void {
    this.pending += n;
    this.gathered += n;
  }

  /** The operation is over: flush what it gathered. Returns the IPIs this flush sent. */
  finish(): number {
    if (this.pending === 0) return 0;
    this.flushes++;
    if (this.pending > FLUSH_CEILING) this.fullFlushes++;
    const entries = this.pending;
    this.pending = 0;
    const ipis = this.cpusActive - 1;
    this.ipis += ipis;
    this.onFlush?.(entries, ipis);
    return ipis;
  }
}
