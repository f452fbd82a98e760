// mmap_lock accounting: every operation records the acquisitions Linux 6.18 makes for it, as the
// kernel's mmap_lock:mmap_lock_acquire_returned tracepoint counts them (a downgrade from write to
// read counts as a read), and the per-VMA lock uses that take no mmap_lock at all.
// Measured per operation in ../shared/kernel-oracle/locks.md.

export interface LockCounts {
  /** mmap_lock taken for writing. */
  write: number;
  /** mmap_lock taken for reading (and write-to-read downgrades). */
  read: number;
  /** Operations served under a per-VMA lock only (lock_vma_under_rcu). */
  vma: number;
}

export class MmapLock {
  readonly total: LockCounts = { write: 0, read: 0, vma: 0 };
  /** Counts since the last take(); what the scenario language's `locks` prints. */
  private since: LockCounts = { write: 0, read: 0, vma: 0 };

  write(): void {
    this.total.write++;
    this.since.write++;
  }

  read(): void {
    if (this.faultMode === 'gup') return;
    this.total.read++;
    this.since.read++;
  }

  /** mmap_lock taken back for reading after a fault dropped it, counted even under GUP. */
  relock(): void {
    this.total.read++;
    this.since.read++;
  }

  /** mmap_write_downgrade: traced as a read acquisition. */
  downgrade(): void {
    this.read();
  }

  /**
   * Who runs the fault being resolved. 'user': the per-VMA lock first. 'kernel': a
   * copy_{to,from}_user fault, for which x86's do_user_addr_fault skips the per-VMA lock and takes
   * mmap_lock for reading. 'gup': get_user_pages under the mmap_lock its caller already holds
   * (MADV_POPULATE_*, MAP_POPULATE), so the fault takes nothing more.
   */
  faultMode: 'user' | 'kernel' | 'gup' = 'user';

  vma(): void {
    if (this.faultMode !== 'user') return this.read();
    this.total.vma++;
    this.since.vma++;
  }

  /**
   * Run fn without counting its acquisitions in take()'s window (totals still count them): what
   * another thread, such as a userfaultfd monitor, does is not the scenario thread's.
   */
  uncounted<T>(fn: () => T): T {
    const saved = { ...this.since };
    try {
      return fn();
    } finally {
      this.since = saved;
    }
  }

  /** The counts since the previous call, and reset them. */
  take(): LockCounts {
    const s = this.since;
    this.since = { write: 0, read: 0, vma: 0 };
    return s;
  }
}
