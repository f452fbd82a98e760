// Linux x86-64 uapi constants and the typed errors every simulated syscall raises.
// Values are those of include/uapi/asm-generic/mman*.h, errno-base.h and signal.h.
//
// The kernel layer's one error convention: a syscall, ioctl or kernel helper that fails THROWS an
// Errno (a UffdError for the ioctls that report progress), leaving the mm as Linux leaves it; an
// access that ends in a signal throws a SignalError. Nothing returns an Errno or an errno name.
// What is not an error is returned as a named result: a fault's outcome (fault.ts: a frame, or
// FAULT_MAPPED / FAULT_SIGBUS / ... ), a collapse scan's result (thp.ts CollapseResult, the
// errno MADV_COLLAPSE would report for that block, kept while the call goes on to the next).

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 * 1024 * 1024;
export const HPAGE_PMD_NR = 512;
/** x86-64 with 4-level paging: the top of user space (TASK_SIZE_MAX). */
export const TASK_SIZE = 0x7ffffffff000;
/** vm.mmap_min_addr's usual default. */
export const MMAP_MIN_ADDR = 0x10000;

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

export const SIGBUS = 7;
export const SIGSEGV = 11;
/** si_code values (include/uapi/asm-generic/siginfo.h). */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;
export const BUS_MCEERR_AR = 4;

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  ERANGE: 34,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const;
export type ErrnoName = keyof typeof ERRNO;

/** A failed syscall: Linux's errno by name and number. The mm is left as Linux leaves it. */
export class Errno extends Error {
  readonly errno: number;
  constructor(readonly code: ErrnoName, detail?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'Errno';
    this.errno = ERRNO[code];
  }
}

export function isErrno(e: unknown, code?: ErrnoName): e is Errno {
  return e instanceof Errno && (code === undefined || e.code === code);
}

export type SignalName = 'SIGSEGV' | 'SIGBUS';

/** What a signal handler receives: the fields of siginfo_t that memory faults fill in. */
export interface SigInfo {
  readonly signo: number;
  readonly name: SignalName;
  /** si_code: SEGV_MAPERR/SEGV_ACCERR or BUS_ADRERR/BUS_MCEERR_AR. */
  readonly code: number;
  /** si_addr: the faulting address. */
  readonly addr: number;
}

/**
 * A signal the simulated program did not handle (or whose handler did not fix the fault). It
 * carries no stack trace: heaps that live on SIGBUS raise thousands, and capturing a trace costs
 * more than the kernel's whole round trip. The address says where it happened.
 */
export class SignalError extends Error implements SigInfo {
  readonly signo: number;
  override readonly name: SignalName;
  readonly code: number;
  readonly addr: number;

  constructor(name: SignalName, code: number, addr: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super();
    Error.stackTraceLimit = limit;
    this.name = name;
    this.code = code;
    this.addr = addr;
    this.signo = name === 'SIGSEGV' ? SIGSEGV : SIGBUS;
  }
}

// the message is composed only when someone reads it
Object.defineProperty(SignalError.prototype, 'message', {
  get(this: SignalError) {
    return `${this.name} at 0x${this.addr.toString(16)} (si_code ${this.code})`;
  },
});

/**
 * x % m for a power of two m, the same for every number. V8 computes `%` of a number past the Smi
 * range (every user address) by calling fmod, twenty times the cost of this for x > 0.
 */
export function modPow2(x: number, m: number): number {
  return x > 0 ? x - Math.floor(x / m) * m : x % m;
}

export function pageAligned(x: number): boolean {
  return modPow2(x, PAGE_SIZE) === 0;
}

/**
 * An address or length as the syscall ABI sees it: an unsigned 64-bit value, so a negative one is
 * 2^64 + x (huge), which the range checks then refuse with the errno Linux gives.
 */
export function sizeT(x: number): number {
  if (!Number.isInteger(x)) throw new Errno('EINVAL', `not a size_t: ${x}`);
  return x < 0 ? 2 ** 64 + x : x;
}

/** MAX_RW_COUNT: the most one read(2) or write(2) moves (INT_MAX rounded down to a page). */
export const MAX_RW_COUNT = 0x7ffff000;

/**
 * vfs_read/vfs_write on a user buffer: access_ok (the whole range below TASK_SIZE, else EFAULT
 * before anything is done), then the count clamped to MAX_RW_COUNT.
 */
export function rwCount(buf: number, len: number): number {
  const count = sizeT(len);
  if (sizeT(buf) + count > TASK_SIZE) throw new Errno('EFAULT', 'access_ok');
  return Math.min(count, MAX_RW_COUNT);
}

/** ksys_pread64/ksys_pwrite64: a negative file position is EINVAL, before the buffer is looked at. */
export function filePos(offset: number): number {
  const pos = sizeT(offset);
  if (pos >= 2 ** 63) throw new Errno('EINVAL', 'negative offset');
  return pos;
}

export function pageAlignUp(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

export function hex(x: number): string {
  return '0x' + x.toString(16);
}
