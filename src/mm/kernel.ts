// The machine-wide part of the simulated kernel: physical memory, the sysfs/sysctl knobs that
// decide THP and VMA-count behaviour, and /proc/vmstat counters.
import { FrameTable } from './frames.js';

export type ThpMode = 'always' | 'madvise' | 'never';

export interface KernelSettings {
  /** /sys/kernel/mm/transparent_hugepage/enabled. @defaultValue 'madvise' (the recorded machine) */
  thpEnabled: ThpMode;
  /** /sys/kernel/mm/transparent_hugepage/use_zero_page. @defaultValue true */
  thpUseZeroPage: boolean;
  /**
   * Whether an anonymous read fault maps the shared zero page (and, in a THP-eligible range, the
   * huge zero page). Mainline Linux does (do_anonymous_page, do_huge_pmd_anonymous_page); a kernel
   * whose mm_forbids_zeropage() is true, or one booted with a vendor option such as
   * `pvm_no_zero_page=1`, allocates a zeroed page (a whole THP in a huge-page range) instead.
   * UFFDIO_ZEROPAGE is not affected on such a kernel (probed). @defaultValue true
   */
  readFaultZeroPage: boolean;
  /** MADV_GUARD_INSTALL/REMOVE exist (Linux 6.13+); without them the advice is EINVAL. @defaultValue true */
  guardRegions: boolean;
  /** UFFD_FEATURE_MOVE and UFFDIO_MOVE exist (Linux 6.8+). @defaultValue true */
  uffdMove: boolean;
  /**
   * mremap moves a range spanning several VMAs when it only moves them (Linux 6.17+, remap_move);
   * before, any range past its first VMA is EFAULT. @defaultValue true
   */
  mremapMultiVma: boolean;
  /** CONFIG_KSM: MADV_MERGEABLE/UNMERGEABLE set VM_MERGEABLE; without it they are EINVAL. @defaultValue true */
  ksm: boolean;
  /**
   * vm.overcommit_memory: 'guess' (0) refuses one request for more accountable memory (private
   * writable, not MAP_NORESERVE) than RAM plus swap; 'always' (1) refuses nothing
   * (__vm_enough_memory). Mode 2, strict accounting, is not modelled. @defaultValue 'guess'
   */
  overcommitMemory: 'guess' | 'always';
  /** MemTotal, for overcommit. @defaultValue 24683548 kB (this project's kind of machine) */
  ramBytes: number;
  /** SwapTotal, for overcommit. @defaultValue 0 */
  swapBytes: number;
  /** vm.max_map_count. @defaultValue 65530 */
  maxMapCount: number;
  /** khugepaged/max_ptes_none: empty PTEs khugepaged may fill in a collapse. @defaultValue 511 */
  khugepagedMaxPtesNone: number;
  /** khugepaged/max_ptes_shared. @defaultValue 256 */
  khugepagedMaxPtesShared: number;
  /** khugepaged/pages_to_scan: pages one khugepaged pass looks at. @defaultValue 4096 */
  khugepagedPagesToScan: number;
  /** vm.nr_hugepages: 2 MiB hugetlbfs pages in the pool. @defaultValue 0 (the recorded machine) */
  nrHugepages: number;
  /** vm.unprivileged_userfaultfd. @defaultValue false (processes are privileged by default anyway) */
  unprivilegedUserfaultfd: boolean;
  /**
   * Proposed extension: what a write to a huge zero page mapped by UFFDIO_ZEROPAGE's
   * huge-zero-page mode does. 'thp' allocates a whole THP, as the proposal intends and as Linux
   * 6.11+ does for a huge zero page mapped by a read fault (do_huge_zero_wp_pmd; recorded in
   * thp-huge-zero-read); 'split' splits the PMD and copies one 4 KiB page, as Linux before 6.11
   * did. @defaultValue 'thp'
   */
  hugeZeroWrite: 'thp' | 'split';
}

export const DEFAULT_SETTINGS: KernelSettings = {
  thpEnabled: 'madvise',
  thpUseZeroPage: true,
  readFaultZeroPage: true,
  guardRegions: true,
  uffdMove: true,
  mremapMultiVma: true,
  ksm: true,
  overcommitMemory: 'guess',
  ramBytes: 24683548 * 1024,
  swapBytes: 0,
  maxMapCount: 65530,
  khugepagedMaxPtesNone: 511,
  khugepagedMaxPtesShared: 256,
  khugepagedPagesToScan: 4096,
  nrHugepages: 0,
  unprivilegedUserfaultfd: false,
  hugeZeroWrite: 'thp',
};

/** The /proc/vmstat event counters the simulator maintains, with the kernel's names. */
export const VMSTAT_EVENTS = [
  'pgfault',
  'pgmajfault',
  'pgfree',
  'pglazyfree',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_collapse_alloc',
  'thp_collapse_alloc_failed',
  'thp_split_page',
  'thp_split_pmd',
  'thp_zero_page_alloc',
  'thp_zero_page_alloc_failed',
] as const;
export type VmstatEvent = (typeof VMSTAT_EVENTS)[number];

export class Kernel {
  readonly frames: FrameTable;
  readonly settings: KernelSettings;
  readonly vmstat: Record<VmstatEvent, number>;
  /** hugetlbfs pages reserved by mappings (resv_huge_pages) and in use. */
  hugepagesReserved = 0;
  hugepagesUsed = 0;
  /** Whether the huge zero page has been allocated (it is, lazily, on first use). */
  hugeZeroAllocated = false;
  private nextInode = 1000;

  /**
   * keepBytes: whether frames hold what is written to them. Without, a frame keeps only whether
   * it holds anything but zeroes (what the kernel itself looks at, e.g. when it splits a THP), so
   * a replay's memory is its page tables, not its heap.
   */
  constructor(settings: Partial<KernelSettings> = {}, keepBytes = true) {
    this.frames = new FrameTable(keepBytes);
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
    this.vmstat = Object.fromEntries(VMSTAT_EVENTS.map((k) => [k, 0])) as Record<VmstatEvent, number>;
  }

  count(ev: VmstatEvent, n = 1): void {
    this.vmstat[ev] += n;
  }

  /** get_huge_zero_folio: the first user allocates it (thp_zero_page_alloc). */
  useHugeZero(): void {
    if (!this.hugeZeroAllocated) {
      this.hugeZeroAllocated = true;
      this.count('thp_zero_page_alloc');
    }
  }

  /**
   * __vm_enough_memory (mm/util.c) for a charge of `bytes` of accountable memory: in heuristic
   * mode one request larger than RAM plus swap fails (the caller returns ENOMEM).
   */
  vmEnoughMemory(bytes: number): boolean {
    const s = this.settings;
    return s.overcommitMemory === 'always' || bytes <= s.ramBytes + s.swapBytes;
  }

  newInode(): number {
    return this.nextInode++;
  }
}
