// include/uapi/linux/userfaultfd.h: the API version, feature bits, ioctl numbers, modes, events.
import { Errno, type ErrnoName } from '../uapi.js';

export const UFFD_API = 0xaa;

export const UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1 << 0;
export const UFFD_FEATURE_EVENT_FORK = 1 << 1;
export const UFFD_FEATURE_EVENT_REMAP = 1 << 2;
export const UFFD_FEATURE_EVENT_REMOVE = 1 << 3;
export const UFFD_FEATURE_MISSING_HUGETLBFS = 1 << 4;
export const UFFD_FEATURE_MISSING_SHMEM = 1 << 5;
export const UFFD_FEATURE_EVENT_UNMAP = 1 << 6;
export const UFFD_FEATURE_SIGBUS = 1 << 7;
export const UFFD_FEATURE_THREAD_ID = 1 << 8;
export const UFFD_FEATURE_MINOR_HUGETLBFS = 1 << 9;
export const UFFD_FEATURE_MINOR_SHMEM = 1 << 10;
export const UFFD_FEATURE_EXACT_ADDRESS = 1 << 11;
export const UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1 << 12;
export const UFFD_FEATURE_WP_UNPOPULATED = 1 << 13;
export const UFFD_FEATURE_POISON = 1 << 14;
export const UFFD_FEATURE_WP_ASYNC = 1 << 15;
export const UFFD_FEATURE_MOVE = 1 << 16;

/** Every feature bit Linux 6.18 knows, by its uapi suffix in lower case. */
export const UFFD_FEATURES: Record<string, number> = {
  pagefault_flag_wp: UFFD_FEATURE_PAGEFAULT_FLAG_WP,
  event_fork: UFFD_FEATURE_EVENT_FORK,
  event_remap: UFFD_FEATURE_EVENT_REMAP,
  event_remove: UFFD_FEATURE_EVENT_REMOVE,
  missing_hugetlbfs: UFFD_FEATURE_MISSING_HUGETLBFS,
  missing_shmem: UFFD_FEATURE_MISSING_SHMEM,
  event_unmap: UFFD_FEATURE_EVENT_UNMAP,
  sigbus: UFFD_FEATURE_SIGBUS,
  thread_id: UFFD_FEATURE_THREAD_ID,
  minor_hugetlbfs: UFFD_FEATURE_MINOR_HUGETLBFS,
  minor_shmem: UFFD_FEATURE_MINOR_SHMEM,
  exact_address: UFFD_FEATURE_EXACT_ADDRESS,
  wp_hugetlbfs_shmem: UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
  wp_unpopulated: UFFD_FEATURE_WP_UNPOPULATED,
  poison: UFFD_FEATURE_POISON,
  wp_async: UFFD_FEATURE_WP_ASYNC,
  move: UFFD_FEATURE_MOVE,
};

/**
 * The features this simulator implements. EVENT_FORK (no fork here) and WP_ASYNC are not
 * modelled: asking for them fails with EINVAL, as Linux fails a request for a feature its build
 * lacks.
 */
export const UFFD_SUPPORTED_FEATURES =
  UFFD_FEATURE_PAGEFAULT_FLAG_WP |
  UFFD_FEATURE_MISSING_HUGETLBFS |
  UFFD_FEATURE_MINOR_HUGETLBFS |
  UFFD_FEATURE_EVENT_REMAP |
  UFFD_FEATURE_EVENT_REMOVE |
  UFFD_FEATURE_MISSING_SHMEM |
  UFFD_FEATURE_EVENT_UNMAP |
  UFFD_FEATURE_SIGBUS |
  UFFD_FEATURE_THREAD_ID |
  UFFD_FEATURE_MINOR_SHMEM |
  UFFD_FEATURE_EXACT_ADDRESS |
  UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
  UFFD_FEATURE_WP_UNPOPULATED |
  UFFD_FEATURE_POISON |
  UFFD_FEATURE_MOVE;

/** _UFFDIO_* ioctl numbers; the register ioctl reports available ones as 1 << number. */
export const _UFFDIO_REGISTER = 0x00;
export const _UFFDIO_UNREGISTER = 0x01;
export const _UFFDIO_WAKE = 0x02;
export const _UFFDIO_COPY = 0x03;
export const _UFFDIO_ZEROPAGE = 0x04;
export const _UFFDIO_MOVE = 0x05;
export const _UFFDIO_WRITEPROTECT = 0x06;
export const _UFFDIO_CONTINUE = 0x07;
export const _UFFDIO_POISON = 0x08;
export const _UFFDIO_API = 0x3f;

/** UFFD_API_RANGE_IOCTLS: what a registered range may use. */
export const UFFD_API_RANGE_IOCTLS =
  (1 << _UFFDIO_WAKE) |
  (1 << _UFFDIO_COPY) |
  (1 << _UFFDIO_ZEROPAGE) |
  (1 << _UFFDIO_MOVE) |
  (1 << _UFFDIO_WRITEPROTECT) |
  (1 << _UFFDIO_CONTINUE) |
  (1 << _UFFDIO_POISON);

export const UFFDIO_REGISTER_MODE_MISSING = 1 << 0;
export const UFFDIO_REGISTER_MODE_WP = 1 << 1;
export const UFFDIO_REGISTER_MODE_MINOR = 1 << 2;

export const UFFDIO_COPY_MODE_DONTWAKE = 1 << 0;
export const UFFDIO_COPY_MODE_WP = 1 << 1;
export const UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1 << 0;
/**
 * Proposed extension, not in Linux's uapi: map the huge zero page over every 2 MiB-aligned
 * 2 MiB block of the range that lies in a THP-eligible VMA. Experiments opt in by setting it.
 */
export const UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT = 1 << 8;
export const UFFDIO_WRITEPROTECT_MODE_WP = 1 << 0;
export const UFFDIO_WRITEPROTECT_MODE_DONTWAKE = 1 << 1;
export const UFFDIO_CONTINUE_MODE_DONTWAKE = 1 << 0;
export const UFFDIO_CONTINUE_MODE_WP = 1 << 1;
export const UFFDIO_POISON_MODE_DONTWAKE = 1 << 0;
export const UFFDIO_MOVE_MODE_DONTWAKE = 1 << 0;
export const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 1 << 1;

export const UFFD_EVENT_PAGEFAULT = 0x12;
export const UFFD_EVENT_FORK = 0x13;
export const UFFD_EVENT_REMAP = 0x14;
export const UFFD_EVENT_REMOVE = 0x15;
export const UFFD_EVENT_UNMAP = 0x16;

export const UFFD_PAGEFAULT_FLAG_WRITE = 1 << 0;
export const UFFD_PAGEFAULT_FLAG_WP = 1 << 1;
export const UFFD_PAGEFAULT_FLAG_MINOR = 1 << 2;

export const UFFD_USER_MODE_ONLY = 1;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** struct uffd_msg, one variant per event. */
export type UffdMsg =
  | { event: typeof UFFD_EVENT_PAGEFAULT; flags: number; address: number; ptid: number }
  | { event: typeof UFFD_EVENT_REMAP; from: number; to: number; len: number }
  | { event: typeof UFFD_EVENT_REMOVE | typeof UFFD_EVENT_UNMAP; start: number; end: number };

/**
 * A failed range ioctl: the errno, and what Linux left in the struct's progress field (copy,
 * zeropage, move, mapped, updated): bytes done before the failure, or the negative errno when
 * nothing was done, or 0 when the arguments were refused before any work.
 */
export class UffdError extends Errno {
  constructor(
    code: ErrnoName,
    readonly progress: number,
    detail?: string,
  ) {
    super(code, detail);
    this.name = 'UffdError';
  }
}
