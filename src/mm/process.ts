// A simulated process: the syscall-shaped surface a program (an allocator, a workload, a test)
// calls, its file descriptors, its signal handlers, and loads and stores to its memory.
import { FaultHang, faultSignal, readUser, writeUser } from './access.js';
import { access, resolvePage } from './fault.js';
import { ZERO_PFN } from './frames.js';
import { Kernel, type KernelSettings } from './kernel.js';
import { Mm } from './mm.js';
import { procMaps, procSmaps, procSmapsRollup, procVmstat } from './proc.js';
import { ShmemFile } from './shmem.js';
import { sysBrk } from './syscalls/brk.js';
import { sysMadvise } from './syscalls/madvise.js';
import { sysMmap } from './syscalls/mmap.js';
import { sysMprotect } from './syscalls/mprotect.js';
import { sysMremap } from './syscalls/mremap.js';
import { sysMunmap } from './syscalls/munmap.js';
import { Errno, filePos, MAP_ANONYMOUS, modPow2, PAGE_SIZE, rwCount, SIGBUS, SIGSEGV, type SigInfo } from './uapi.js';
import { khugepagedScan, type KhugepagedResult } from './khugepaged.js';
import { UserTlb } from './user-tlb.js';
import * as uffd from './userfaultfd/index.js';
import type { UffdContext, UffdMonitor, UffdMsg } from './userfaultfd/index.js';
import { syscallNr } from './syscall-nr.js';

const NR_FALLOCATE = syscallNr('fallocate');
const NR_FTRUNCATE = syscallNr('ftruncate');
const NR_MEMFD_CREATE = syscallNr('memfd_create');
const NR_PWRITE64 = syscallNr('pwrite64');
const NR_READ = syscallNr('read');
const NR_USERFAULTFD = syscallNr('userfaultfd');

/** The program's own loads and stores (user-mode accesses). */
const USER_READ = access('user', false);
const USER_WRITE = access('user', true);

/**
 * A signal handler. It runs at the faulting access; returning true means "I fixed the mapping,
 * retry the access" (as a handler that returns normally does), anything else abandons the access
 * (as a handler that siglongjmps out does) and the access throws the SignalError.
 */
export type SignalHandler = (info: SigInfo) => boolean | void;

export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
export const MFD_HUGETLB = 0x4;
export const FALLOC_FL_KEEP_SIZE = 0x1;
export const FALLOC_FL_PUNCH_HOLE = 0x2;

/** What a file descriptor refers to. Other layers (userfaultfd) add their own kinds. */
export type FdObject = { kind: 'shmem'; file: ShmemFile } | { kind: 'zero' } | { kind: 'userfaultfd'; ctx: UffdContext };

export interface ProcessOptions {
  /** Share a kernel (physical memory, settings, vmstat) with other processes. */
  kernel?: Kernel;
  /** Settings for a new kernel. */
  settings?: Partial<KernelSettings>;
  /**
   * Whether memory keeps the bytes written to it, for a new kernel. Without, pages remember only
   * whether they hold anything but zeroes and read back as a constant that is not zero: what an
   * experiment that never reads its data back needs, at a fraction of the memory. @defaultValue true
   */
  keepBytes?: boolean;
  /** Whether the process has CAP_SYS_PTRACE (userfaultfd without UFFD_USER_MODE_ONLY). @defaultValue true */
  privileged?: boolean;
}

/** The userfaultfd ioctls as counted: the call, and for range ioctls (whose cost is per page) the counter their pages go to. */
function ioctl(name: string, perPage = false): { nr: number; pagesNr: number } {
  return { nr: syscallNr(name), pagesNr: perPage ? syscallNr(`${name}:pages`) : -1 };
}
const UFFDIO_API = ioctl('UFFDIO_API');
const UFFDIO_REGISTER = ioctl('UFFDIO_REGISTER');
const UFFDIO_UNREGISTER = ioctl('UFFDIO_UNREGISTER');
const UFFDIO_WAKE = ioctl('UFFDIO_WAKE');
const UFFDIO_ZEROPAGE = ioctl('UFFDIO_ZEROPAGE', true);
const UFFDIO_COPY = ioctl('UFFDIO_COPY', true);
const UFFDIO_MOVE = ioctl('UFFDIO_MOVE', true);
const UFFDIO_WRITEPROTECT = ioctl('UFFDIO_WRITEPROTECT');
const UFFDIO_CONTINUE = ioctl('UFFDIO_CONTINUE', true);
const UFFDIO_POISON = ioctl('UFFDIO_POISON', true);

/** Kernel-mode copies (read/write of user memory) go a chunk at a time (1 MiB, a multiple of pages). */
const COPY_CHUNK = 1 << 20;

/** How many times a handler may ask to retry the same access before it counts as a loop. */
const MAX_SIGNAL_RETRIES = 64;

export class Process {
  readonly kernel: Kernel;
  readonly mm: Mm;
  private readonly handlers = new Map<number, SignalHandler>();
  private readonly fds = new Map<number, FdObject>();
  private nextFd = 3;
  readonly privileged: boolean;

  constructor(opts: ProcessOptions = {}) {
    this.kernel = opts.kernel ?? new Kernel(opts.settings, opts.keepBytes ?? true);
    this.mm = new Mm(this.kernel);
    this.privileged = opts.privileged ?? true;
    this.storeTlb = new UserTlb(this.mm);
  }

  /** Translations of pages the program stored into (a shortcut: see UserTlb). */
  private readonly storeTlb: UserTlb;

  /**
   * The process runs `threads` threads (clone with CLONE_VM) on `cpus` CPUs: the mm is then active
   * on min(threads, cpus) of them (mm_cpumask), and every TLB flush sends IPIs to the others.
   */
  setThreads(threads: number, cpus = threads): void {
    if (!Number.isInteger(threads) || !Number.isInteger(cpus) || threads < 1 || cpus < 1) throw new Errno('EINVAL', 'threads and cpus are whole numbers of at least 1');
    this.mm.tlb.cpusActive = Math.min(threads, cpus);
  }

  /** Run a syscall, then flush the TLB entries it gathered (mmu_gather's tlb_finish_mmu). */
  private flushing<T>(fn: () => T): T {
    try {
      return fn();
    } finally {
      this.mm.tlb.finish();
    }
  }

  // ---- memory syscalls --------------------------------------------------------------------

  /** mmap(2). fd is -1 for anonymous memory. Returns the address. */
  mmap(addr: number, length: number, prot: number, flags: number, fd = -1, offset = 0): number {
    let file: ShmemFile | null = null;
    if (!(flags & MAP_ANONYMOUS)) {
      const o = this.fds.get(fd);
      if (!o) throw new Errno('EBADF');
      if (o.kind !== 'shmem') throw new Errno('ENODEV');
      file = o.file;
    }
    // (try/finally written out in the hot syscalls: a closure passed to flushing() is allocated on
    // every call, with its context)
    try {
      return sysMmap(this.mm, addr, length, prot, flags, file, offset);
    } finally {
      this.mm.tlb.finish();
    }
  }

  munmap(addr: number, length: number): void {
    try {
      sysMunmap(this.mm, addr, length);
    } finally {
      this.mm.tlb.finish();
    }
  }

  mprotect(addr: number, length: number, prot: number): void {
    try {
      sysMprotect(this.mm, addr, length, prot);
    } finally {
      this.mm.tlb.finish();
    }
  }

  mremap(oldAddr: number, oldLength: number, newLength: number, flags = 0, newAddr = 0): number {
    try {
      return sysMremap(this.mm, oldAddr, oldLength, newLength, flags, newAddr);
    } finally {
      this.mm.tlb.finish();
    }
  }

  madvise(addr: number, length: number, advice: number): void {
    try {
      sysMadvise(this.mm, addr, length, advice);
    } finally {
      this.mm.tlb.finish();
    }
  }

  /** brk(2): returns the new break, or the old one when it could not move. */
  brk(addr: number): number {
    return this.flushing(() => sysBrk(this.mm, addr));
  }

  /** sbrk(3) on top of brk(2): returns the old break, or throws ENOMEM. */
  sbrk(increment: number): number {
    const old = this.mm.brk;
    if (increment === 0) return old;
    if (this.brk(old + increment) !== old + increment) throw new Errno('ENOMEM');
    return old;
  }

  // ---- files ------------------------------------------------------------------------------

  installFd(o: FdObject): number {
    const fd = this.nextFd++;
    this.fds.set(fd, o);
    return fd;
  }

  fdObject(fd: number): FdObject {
    const o = this.fds.get(fd);
    if (!o) throw new Errno('EBADF');
    return o;
  }

  close(fd: number): void {
    const o = this.fds.get(fd);
    if (!o) throw new Errno('EBADF');
    this.fds.delete(fd);
    if (o.kind === 'userfaultfd') uffd.uffdRelease(o.ctx);
  }

  // ---- userfaultfd ----------------------------------------------------------------------------

  /** userfaultfd(2): flags are O_CLOEXEC, O_NONBLOCK and UFFD_USER_MODE_ONLY. */
  userfaultfd(flags = 0): number {
    this.mm.countSyscall(NR_USERFAULTFD);
    return this.installFd({ kind: 'userfaultfd', ctx: uffd.newUserfaultfd(this.mm, flags, this.privileged) });
  }

  /** The context behind a userfaultfd descriptor (EBADF/EINVAL otherwise). */
  uffdContext(fd: number): UffdContext {
    const o = this.fdObject(fd);
    if (o.kind !== 'userfaultfd') throw new Errno('EINVAL', 'not a userfaultfd');
    return o.ctx;
  }

  private uffdIoctl<T>(fd: number, call: { nr: number; pagesNr: number }, fn: (ctx: UffdContext) => T): T {
    this.mm.countSyscall(call.nr);
    const ctx = this.uffdContext(fd);
    const r = this.flushing(() => fn(ctx));
    // range ioctls return bytes done: their cost is per page
    if (call.pagesNr >= 0 && typeof r === 'number') this.mm.countSyscall(call.pagesNr, r / PAGE_SIZE);
    return r;
  }

  /** UFFDIO_API: returns the features the kernel offers. */
  uffdApi(fd: number, features = 0, api = uffd.UFFD_API): number {
    return this.uffdIoctl(fd, UFFDIO_API, (c) => uffd.uffdApi(c, api, features));
  }

  /** UFFDIO_REGISTER: returns the ioctls bitmask for the range. */
  uffdRegister(fd: number, start: number, len: number, mode: number): number {
    return this.uffdIoctl(fd, UFFDIO_REGISTER, (c) => uffd.uffdRegister(c, start, len, mode));
  }

  uffdUnregister(fd: number, start: number, len: number): void {
    this.uffdIoctl(fd, UFFDIO_UNREGISTER, (c) => uffd.uffdUnregister(c, start, len));
  }

  uffdWake(fd: number, start: number, len: number): void {
    this.uffdIoctl(fd, UFFDIO_WAKE, (c) => uffd.uffdWake(c, start, len));
  }

  /** UFFDIO_ZEROPAGE: returns bytes mapped; a failure is a UffdError carrying the progress field. */
  uffdZeropage(fd: number, start: number, len: number, mode = 0): number {
    return this.uffdIoctl(fd, UFFDIO_ZEROPAGE, (c) => uffd.uffdZeropage(c, start, len, mode));
  }

  /** UFFDIO_COPY from this process's memory at src. */
  uffdCopy(fd: number, dst: number, src: number, len: number, mode = 0): number {
    return this.uffdIoctl(fd, UFFDIO_COPY, (c) => uffd.uffdCopy(c, dst, src, len, mode));
  }

  uffdMove(fd: number, dst: number, src: number, len: number, mode = 0): number {
    return this.uffdIoctl(fd, UFFDIO_MOVE, (c) => uffd.uffdMove(c, dst, src, len, mode));
  }

  uffdWriteprotect(fd: number, start: number, len: number, mode: number): void {
    this.uffdIoctl(fd, UFFDIO_WRITEPROTECT, (c) => uffd.uffdWriteprotect(c, start, len, mode));
  }

  uffdContinue(fd: number, start: number, len: number, mode = 0): number {
    return this.uffdIoctl(fd, UFFDIO_CONTINUE, (c) => uffd.uffdContinue(c, start, len, mode));
  }

  uffdPoison(fd: number, start: number, len: number, mode = 0): number {
    return this.uffdIoctl(fd, UFFDIO_POISON, (c) => uffd.uffdPoison(c, start, len, mode));
  }

  /** read(2) of one uffd_msg; EAGAIN when none is pending. */
  uffdRead(fd: number): UffdMsg {
    this.mm.countSyscall(NR_READ);
    const msg = this.uffdContext(fd).queue.shift();
    if (!msg) throw new Errno('EAGAIN');
    return msg;
  }

  /** poll(2) for POLLIN. */
  uffdPoll(fd: number): boolean {
    return this.uffdContext(fd).queue.length > 0;
  }

  /**
   * Attach a monitor: called synchronously with every message, as a monitor thread that is
   * always waiting in read() would be. It resolves faults with the uffd* ioctls.
   */
  uffdMonitor(fd: number, monitor: UffdMonitor | null): void {
    const ctx = this.uffdContext(fd);
    ctx.monitor = monitor;
    if (monitor) for (let m = ctx.queue.shift(); m; m = ctx.queue.shift()) monitor(m, ctx);
  }

  memfdCreate(name: string, flags = 0): number {
    this.mm.countSyscall(NR_MEMFD_CREATE);
    if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB)) throw new Errno('EINVAL');
    return this.installFd({ kind: 'shmem', file: new ShmemFile(name, 0, this.kernel.newInode(), (flags & MFD_HUGETLB) !== 0) });
  }

  private shmem(fd: number): ShmemFile {
    const o = this.fdObject(fd);
    if (o.kind !== 'shmem') throw new Errno('EINVAL');
    return o.file;
  }

  ftruncate(fd: number, size: number): void {
    this.mm.countSyscall(NR_FTRUNCATE);
    const f = this.shmem(fd);
    if (size < 0) throw new Errno('EINVAL');
    if (f.hugetlb && size % f.pageSize) throw new Errno('EINVAL');
    if (size < f.size) f.punch(this.kernel.frames, Math.ceil(size / PAGE_SIZE), Math.ceil(f.size / PAGE_SIZE));
    f.size = size;
  }

  fallocate(fd: number, mode: number, offset: number, len: number): void {
    this.mm.countSyscall(NR_FALLOCATE);
    const f = this.shmem(fd);
    if (offset < 0 || len <= 0) throw new Errno('EINVAL');
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (!(mode & FALLOC_FL_KEEP_SIZE)) throw new Errno('EOPNOTSUPP');
      // whole pages only: partial pages are zeroed in place
      const first = Math.ceil(offset / PAGE_SIZE);
      const last = Math.floor((offset + len) / PAGE_SIZE);
      if (last > first) f.punch(this.kernel.frames, first, last);
      this.zeroFileBytes(f, offset, Math.min(offset + len, first * PAGE_SIZE));
      this.zeroFileBytes(f, Math.max(offset, last * PAGE_SIZE), offset + len);
      return;
    }
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > f.size) f.size = offset + len;
    for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + len; p++) f.page(this.kernel.frames, p);
  }

  private zeroFileBytes(f: ShmemFile, from: number, to: number): void {
    if (to <= from) return;
    const pfn = f.pages.get(Math.floor(from / PAGE_SIZE));
    if (pfn) this.kernel.frames.fill(pfn, modPow2(from, PAGE_SIZE), to - from, 0);
  }

  /** Open a character device; only /dev/zero is modelled. */
  open(path: string): number {
    if (path !== '/dev/zero') throw new Errno('ENOENT');
    return this.installFd({ kind: 'zero' });
  }

  /**
   * pwrite(2): the kernel reads len bytes of user memory at buf (copy_from_user). A fault part
   * way returns the short count; a fault on the first byte fails with EFAULT.
   */
  pwrite(fd: number, buf: number, len: number, offset: number): number {
    this.mm.countSyscall(NR_PWRITE64);
    const f = this.shmem(fd);
    offset = filePos(offset);
    const count = rwCount(buf, len);
    // a chunk at a time: the simulator never holds more than COPY_CHUNK of the copy
    const tmp = new Uint8Array(Math.min(count, COPY_CHUNK));
    let done = 0;
    while (done < count) {
      const n = Math.min(COPY_CHUNK, count - done);
      const r = readUser(this.mm, buf + done, tmp, 0, n, 'kernel');
      this.writeFile(f, offset + done, tmp.subarray(0, r.done));
      done += r.done;
      if (r.done < n) break;
    }
    if (done === 0 && count > 0) throw new Errno('EFAULT');
    return done;
  }

  /** Write bytes into a shmem file through the page cache, not a mapping. */
  writeFile(f: ShmemFile, offset: number, data: Uint8Array): void {
    if (offset + data.length > f.size) f.size = offset + data.length;
    for (let done = 0; done < data.length; ) {
      const a = offset + done;
      const n = Math.min(data.length - done, PAGE_SIZE - modPow2(a, PAGE_SIZE));
      const pfn = f.page(this.kernel.frames, Math.floor(a / PAGE_SIZE));
      this.kernel.frames.write(pfn, modPow2(a, PAGE_SIZE), data, done, n);
      done += n;
    }
  }

  /** pwrite of len copies of one byte into a memfd (the scenario language's `pwrite`). */
  pwriteFill(fd: number, offset: number, len: number, byte: number): number {
    this.mm.countSyscall(NR_PWRITE64);
    const f = this.shmem(fd);
    offset = filePos(offset);
    const count = rwCount(0, len);
    const chunk = new Uint8Array(Math.min(count, COPY_CHUNK)).fill(byte);
    for (let done = 0; done < count; done += chunk.length) this.writeFile(f, offset + done, chunk.subarray(0, Math.min(chunk.length, count - done)));
    return count;
  }

  /**
   * read(2): the kernel writes into user memory at buf (copy_to_user). Reading /dev/zero stores
   * zeroes; a memfd delivers its bytes from offset 0.
   */
  readInto(fd: number, buf: number, len: number): number {
    this.mm.countSyscall(NR_READ);
    const o = this.fdObject(fd);
    if (o.kind !== 'shmem' && o.kind !== 'zero') throw new Errno('EINVAL');
    const count = rwCount(buf, len);
    const src = o.kind === 'shmem' ? new Uint8Array(Math.min(count, COPY_CHUNK)) : null;
    let done = 0;
    try {
      while (done < count) {
        const n = Math.min(COPY_CHUNK, count - done);
        if (src && o.kind === 'shmem') {
          src.fill(0, 0, n);
          for (let at = 0; at < n; at += PAGE_SIZE) {
            const pfn = o.file.pages.get((done + at) / PAGE_SIZE);
            if (pfn) this.kernel.frames.read(pfn, 0, src, at, Math.min(PAGE_SIZE, n - at));
          }
        }
        const r = writeUser(this.mm, buf + done, src, 0, n, 0, 'kernel');
        done += r.done;
        if (r.done < n) break;
      }
    } finally {
      this.mm.tlb.finish();
    }
    if (done === 0 && count > 0) throw new Errno('EFAULT');
    return done;
  }

  // ---- user-mode memory access --------------------------------------------------------------

  /** Install (or with null remove) a handler for SIGSEGV or SIGBUS. */
  sigaction(signo: number, handler: SignalHandler | null): void {
    if (signo !== SIGSEGV && signo !== SIGBUS) throw new Errno('EINVAL');
    if (handler) this.handlers.set(signo, handler);
    else this.handlers.delete(signo);
  }

  /** Deliver a fault as a signal; true means the handler asked to retry. */
  private deliver(code: number, addr: number, tries: number): boolean {
    this.mm.tlb.finish();
    const sig = faultSignal(code, addr);
    if (sig instanceof FaultHang) throw sig;
    const h = this.handlers.get(sig.signo);
    if (h && tries < MAX_SIGNAL_RETRIES && h(sig) === true) return true;
    throw sig;
  }

  /** Load len bytes; throws SignalError where the access faults. */
  read(addr: number, len: number): Uint8Array {
    return this.loadInto(addr, new Uint8Array(len));
  }

  /** Load out.length bytes into out (a buffer the caller reuses); throws SignalError where the access faults. */
  loadInto(addr: number, out: Uint8Array): Uint8Array {
    const len = out.length;
    let done = 0;
    for (let tries = 0; done < len; tries++) {
      const r = readUser(this.mm, addr + done, out, done, len - done, 'user');
      done += r.done;
      if (r.fault) this.deliver(r.fault, r.faultAddr, tries);
    }
    return out;
  }

  /**
   * memcpy(dst, src, n) for ranges that do not overlap (what realloc does when it moves a block):
   * loads then stores, a chunk at a time, through one buffer kept for the purpose. Faults and
   * signals as the loads and stores would raise them.
   */
  copy(dst: number, src: number, n: number): void {
    for (let done = 0; done < n; ) {
      const len = Math.min(n - done, COPY_CHUNK);
      if (this.copyBuf.length < len) this.copyBuf = new Uint8Array(Math.min(COPY_CHUNK, Math.max(len, 2 * this.copyBuf.length)));
      const buf = this.copyBuf.subarray(0, len);
      this.loadInto(src + done, buf);
      this.store(dst + done, buf, len, 0);
      done += len;
    }
  }

  /** copy()'s buffer: grown to the largest chunk copied, at most COPY_CHUNK. */
  private copyBuf = new Uint8Array(PAGE_SIZE);

  /** Store bytes at addr, in address order; pages before a faulting one keep what was stored. */
  write(addr: number, data: Uint8Array | ArrayLike<number>): void {
    const src = data instanceof Uint8Array ? data : Uint8Array.from(data);
    this.store(addr, src, src.length, 0);
  }

  /** Store len copies of byte (memset). */
  fill(addr: number, len: number, byte: number): void {
    this.store(addr, null, len, byte & 0xff);
  }

  private store(addr: number, src: Uint8Array | null, len: number, byte: number): void {
    // the common store (a malloc'd object's memset): inside one page that is there to write
    // (a fault is delivered here, not resolved again by the loop below: a second attempt would
    // count a second mmap_lock acquisition)
    const off = modPow2(addr, PAGE_SIZE);
    if (len > 0 && off + len <= PAGE_SIZE) {
      const page = (addr - off) / PAGE_SIZE;
      for (let tries = 0; ; tries++) {
        let pfn = this.storeTlb.lookup(page);
        if (pfn === 0) {
          pfn = resolvePage(this.mm, addr, USER_WRITE);
          if (pfn > 0) this.storeTlb.insert(page, pfn);
        }
        if (pfn > 0) {
          if (src) this.kernel.frames.write(pfn, off, src, 0, len);
          else this.kernel.frames.fill(pfn, off, len, byte);
          this.mm.tlb.finish();
          return;
        }
        this.deliver(pfn, addr, tries);
      }
    }
    let done = 0;
    for (let tries = 0; done < len; tries++) {
      const r = writeUser(this.mm, addr + done, src, done, len - done, byte, 'user');
      done += r.done;
      if (r.fault) this.deliver(r.fault, r.faultAddr, tries);
    }
    this.mm.tlb.finish();
  }

  read8(addr: number): number {
    for (let tries = 0; ; tries++) {
      const pfn = resolvePage(this.mm, addr, USER_READ);
      if (pfn > 0) return pfn === ZERO_PFN ? 0 : this.kernel.frames.byteAt(pfn, modPow2(addr, PAGE_SIZE));
      this.deliver(pfn, addr, tries);
    }
  }

  write8(addr: number, v: number): void {
    this.store(addr, null, 1, v & 0xff);
  }

  read32(addr: number): number {
    const b = this.read(addr, 4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  write32(addr: number, v: number): void {
    this.write(addr, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
  }

  read64(addr: number): bigint {
    return new DataView(this.read(addr, 8).buffer).getBigUint64(0, true);
  }

  write64(addr: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    this.write(addr, b);
  }

  // ---- /proc and khugepaged -----------------------------------------------------------------

  /** Read a /proc file of this process: /proc/self/{maps,smaps,smaps_rollup} or /proc/vmstat. */
  readProc(path: string): string {
    switch (path.replace(/^\/proc\/(self|\d+)\//, '')) {
      case 'maps':
        return procMaps(this.mm);
      case 'smaps':
        return procSmaps(this.mm);
      case 'smaps_rollup':
        return procSmapsRollup(this.mm);
      case '/proc/vmstat':
        return procVmstat(this.mm);
      default:
        throw new Errno('ENOENT', path);
    }
  }

  /** Run khugepaged over this process: one pass of pages_to_scan pages, or until it has seen everything. */
  khugepaged(opts: { full?: boolean } = {}): KhugepagedResult {
    return this.flushing(() => khugepagedScan(this.mm, opts.full ?? true));
  }
}

