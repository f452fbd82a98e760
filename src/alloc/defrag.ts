// mremap_vma_merge, the proposed VMA defragmenter, built as the proposal describes: with no
// kernel feature beyond userfaultfd. A contiguous range made of many anonymous VMAs (which Linux
// will not merge: their vm_pgoff and anon_vma differ after frees and mremap moves) becomes one
// VMA with the same bytes at the same addresses:
//
//   1. register the range with a new userfaultfd (MISSING; features MOVE and EVENT_REMAP),
//      and map two staging areas: a holding area H and an empty target T, both registered;
//   2. "out": UFFDIO_MOVE every page of the fragments to the same offset in H;
//   3. "swap": mremap T over the range (MREMAP_FIXED). T never had pages, so the kernel gives it
//      the pgoff of its new address (copy_vma), and EVENT_REMAP keeps it registered;
//   4. "in": UFFDIO_MOVE every page from H into place: one VMA, page indices contiguous;
//   5. unregister, unmap H, close the userfaultfd.
//
// Between steps the program runs. A page it touches while it is in H faults (user or kernel
// mode) to the monitor, which moves that page home first. Kernel-mode faults are why the
// proposal needs userfaultfd to serve them: with UFFD_USER_MODE_ONLY a read()/write() into a page
// in flight fails with EFAULT instead.
import createDebug from 'debug';
import { Errno, MADV_GUARD_INSTALL, MADV_GUARD_REMOVE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/uapi.js';
import {
  O_CLOEXEC,
  O_NONBLOCK,
  UFFD_EVENT_PAGEFAULT,
  UFFD_FEATURE_EVENT_REMAP,
  UFFD_FEATURE_MOVE,
  UFFD_USER_MODE_ONLY,
  UffdError,
  UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES,
  UFFDIO_REGISTER_MODE_MISSING,
  type UffdMsg,
} from '../mm/userfaultfd/uapi.js';
import { readMaps, readSmaps, type SmapsVma, type Sys } from './sys.js';

const dbg = createDebug('uffd:defrag');

export interface MergeOptions {
  /** Open the userfaultfd with UFFD_USER_MODE_ONLY (shows what breaks). @defaultValue false */
  userModeOnly?: boolean;
  /** Pages moved per step. @defaultValue 512 */
  stepPages?: number;
  /** MADV_HUGEPAGE on the merged VMA, so khugepaged will build THPs in it. @defaultValue false */
  hugepage?: boolean;
  /**
   * Absorb guard VMAs: an empty PROT_NONE VMA between two mergeable ones becomes MADV_GUARD_INSTALL
   * markers (Linux 6.13+) inside the merged VMA, so an access there still raises SIGSEGV. Only for
   * guards that stay guards: one later made accessible again with mprotect must be
   * MADV_GUARD_REMOVE'd instead. @defaultValue false
   */
  absorbGuards?: boolean;
  /**
   * The VMAs of /proc/self/smaps as the caller read them (a defragmenter merging many ranges reads
   * smaps once, not once per range: producing it costs the kernel a walk of every VMA's page
   * tables). The range is checked against them as against a fresh read, once /proc/self/maps (one
   * line a VMA, no page walk) confirms they still describe it: EAGAIN, nothing changed, when they
   * do not. @defaultValue smaps is read afresh
   */
  smaps?: SmapsVma[];
}

export interface MergeResult {
  vmasBefore: number;
  /** Bytes moved out and back in (each byte twice). */
  bytesMoved: number;
  /** Faults on pages in flight that the monitor served (user and kernel mode). */
  faultsServed: number;
  steps: number;
}

export type MergePhase = 'setup' | 'out' | 'swap' | 'in' | 'finish' | 'done';

const FLAGS_THAT_MATTER = ['hg', 'nh', 'nr', 'ac', 'dc', 'wf', 'dd'];

/** An empty PROT_NONE VMA: a guard mremap_vma_merge may absorb. */
export function isGuardVma(v: SmapsVma): boolean {
  return v.perms === '---p' && v.inode === 0;
}

/** The guards among a range's VMAs: empty PROT_NONE VMAs inside it, not at its ends. */
export function innerGuards(vmas: SmapsVma[]): SmapsVma[] {
  return vmas.filter((v, i) => i > 0 && i < vmas.length - 1 && isGuardVma(v));
}

/**
 * Check the range and return its VMAs; throws Errno and changes nothing when it cannot merge.
 * With absorbGuards, PROT_NONE VMAs inside the range (not at its ends) are guards: they must
 * hold no pages (EBUSY), and the kernel must have guard regions (EINVAL otherwise, found at the
 * first MADV_GUARD_INSTALL, before anything changes).
 */
export function checkMergeable(sys: Sys, addr: number, len: number, absorbGuards = false, smaps?: SmapsVma[]): SmapsVma[] {
  if (addr % PAGE_SIZE || len % PAGE_SIZE || len <= 0) throw new Errno('EINVAL', 'unaligned or empty range');
  const end = addr + len;
  const inRange = (v: SmapsVma) => v.end > addr && v.start < end;
  const vmas = (smaps ?? readSmaps(sys)).filter(inRange);
  if (smaps) {
    const now = readMaps(sys).filter(inRange);
    const same = (v: SmapsVma, w: SmapsVma) => v.start === w.start && v.end === w.end && v.perms === w.perms && v.inode === w.inode;
    if (now.length !== vmas.length || now.some((v, i) => !same(v, vmas[i]))) throw new Errno('EAGAIN', 'the smaps given no longer describe the range: read them again');
  }
  let at = addr;
  for (const v of vmas) {
    if (v.start > at) throw new Errno('ENOMEM', `hole at 0x${at.toString(16)}`);
    at = v.end;
  }
  if (at < end) throw new Errno('ENOMEM', `hole at 0x${at.toString(16)}`);
  const guards = absorbGuards ? innerGuards(vmas) : [];
  const first = vmas[0];
  for (const v of vmas) {
    if (guards.includes(v)) {
      if (v.rssKb > 0) throw new Errno('EBUSY', `guard at 0x${v.start.toString(16)} holds pages`);
      continue;
    }
    if (v.inode !== 0 || v.perms[3] === 's') throw new Errno('EINVAL', `0x${v.start.toString(16)} is a file or shared mapping`);
    if (v.perms !== first.perms) throw new Errno('EINVAL', `protections differ (${first.perms} and ${v.perms})`);
    if (v.flags.has('um') || v.flags.has('uw') || v.flags.has('ui')) throw new Errno('EBUSY', `0x${v.start.toString(16)} is registered with a userfaultfd`);
    if (v.flags.has('lo')) throw new Errno('EINVAL', `0x${v.start.toString(16)} is mlocked`);
    for (const f of FLAGS_THAT_MATTER) if (v.flags.has(f) !== first.flags.has(f)) throw new Errno('EINVAL', `VmFlags differ (${f})`);
  }
  if (guards.length) {
    // does this kernel have guard regions? A guard install on the first guard page tells
    // (the page is PROT_NONE and empty: a marker there changes nothing an access would see)
    const g = guards[0];
    sys.madvise(g.start, PAGE_SIZE, MADV_GUARD_INSTALL);
    sys.madvise(g.start, PAGE_SIZE, MADV_GUARD_REMOVE);
  }
  return vmas;
}

/** A merge in progress, run step by step (`step()`) or all at once (`mremapVmaMerge`). */
export class VmaMerge {
  phase: MergePhase = 'setup';
  private readonly vmas: SmapsVma[];
  /** The guard VMAs absorbed, and the VMAs whose pages move. */
  private readonly guards: SmapsVma[];
  private readonly pages: SmapsVma[];
  private fd = -1;
  private hold = 0;
  private target = 0;
  /** Progress within the current phase: the fragment index and the offset reached. */
  private frag = 0;
  private off = 0;
  private readonly stepPages: number;
  readonly result: MergeResult;

  constructor(
    private readonly sys: Sys,
    readonly addr: number,
    readonly len: number,
    private readonly opts: MergeOptions = {},
  ) {
    this.vmas = checkMergeable(sys, addr, len, opts.absorbGuards ?? false, opts.smaps);
    this.guards = opts.absorbGuards ? innerGuards(this.vmas) : [];
    this.pages = this.vmas.filter((v) => !this.guards.includes(v));
    this.stepPages = opts.stepPages ?? 512;
    this.result = { vmasBefore: this.vmas.length, bytesMoved: 0, faultsServed: 0, steps: 0 };
  }

  /** Do one step; returns false once the merge is complete. */
  step(): boolean {
    this.result.steps++;
    switch (this.phase) {
      case 'setup':
        this.setup();
        this.phase = 'out';
        return true;
      case 'out':
        if (this.moveOut()) this.phase = 'swap';
        return true;
      case 'swap':
        this.swap();
        this.phase = 'in';
        this.off = 0;
        return true;
      case 'in':
        if (this.moveIn()) this.phase = 'finish';
        return true;
      case 'finish':
        this.finish();
        this.phase = 'done';
        return false;
      default:
        return false;
    }
  }

  private setup(): void {
    const sys = this.sys;
    const perms = this.pages[0].perms;
    const flags = this.pages[0].flags;
    const prot = (perms[0] === 'r' ? PROT_READ : 0) | (perms[1] === 'w' ? PROT_WRITE : 0) | (perms[2] === 'x' ? PROT_EXEC : 0);
    const mapFlags = MAP_PRIVATE | MAP_ANONYMOUS | (flags.has('nr') ? MAP_NORESERVE : 0);
    this.fd = sys.userfaultfd(O_CLOEXEC | O_NONBLOCK | (this.opts.userModeOnly ? UFFD_USER_MODE_ONLY : 0));
    try {
      sys.uffdApi(this.fd, UFFD_FEATURE_MOVE | UFFD_FEATURE_EVENT_REMAP);
      sys.uffdMonitor(this.fd, (m) => this.onMessage(m));
      sys.uffdRegister(this.fd, this.addr, this.len, UFFDIO_REGISTER_MODE_MISSING);
      this.hold = sys.mmap(0, this.len, prot, mapFlags | MAP_NORESERVE);
      sys.uffdRegister(this.fd, this.hold, this.len, UFFDIO_REGISTER_MODE_MISSING);
      // the target mirrors the fragments' flags, so the merged VMA is what they were
      this.target = sys.mmap(0, this.len, prot, mapFlags);
      if (flags.has('hg')) sys.madvise(this.target, this.len, MADV_HUGEPAGE);
      if (flags.has('nh')) sys.madvise(this.target, this.len, MADV_NOHUGEPAGE);
      sys.uffdRegister(this.fd, this.target, this.len, UFFDIO_REGISTER_MODE_MISSING);
    } catch (e) {
      // nothing has moved yet: undo the setup (closing the userfaultfd unregisters every range,
      // userfaultfd_release) and report the errno
      if (this.target) sys.munmap(this.target, this.len);
      if (this.hold) sys.munmap(this.hold, this.len);
      sys.close(this.fd);
      this.fd = -1;
      throw e;
    }
    dbg('merge 0x%s +0x%s: %d VMAs, hold 0x%s, target 0x%s', this.addr.toString(16), this.len.toString(16), this.vmas.length, this.hold.toString(16), this.target.toString(16));
  }

  /** UFFDIO_MOVE as much of [from, from + n) to `to` as exists; a hole is skipped. */
  private move(to: number, from: number, n: number): void {
    let done = 0;
    while (done < n) {
      try {
        done += this.sys.uffdMove(this.fd, to + done, from + done, n - done, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
      } catch (e) {
        if (!(e instanceof UffdError)) throw e;
        if (e.progress > 0) done += e.progress; // stopped part way (a THP split): go on
        else if (e.code === 'EEXIST') done += PAGE_SIZE; // the monitor already brought it home
        else throw e;
      }
    }
    this.result.bytesMoved += n;
  }

  /** Move the next stepPages of the fragments to the holding area; true when all are out. */
  private moveOut(): boolean {
    let budget = this.stepPages * PAGE_SIZE;
    while (budget > 0 && this.frag < this.pages.length) {
      const v = this.pages[this.frag];
      const s = Math.max(v.start, this.addr) + this.off;
      const e = Math.min(v.end, this.addr + this.len);
      const n = Math.min(budget, e - s);
      this.move(this.hold + (s - this.addr), s, n);
      budget -= n;
      if (s + n >= e) {
        this.frag++;
        this.off = 0;
      } else this.off += n;
    }
    return this.frag >= this.pages.length;
  }

  private swap(): void {
    // pages the monitor brought home during "out" must leave again: mremap would drop them
    const returned = [...this.home];
    this.home.clear();
    for (const a of returned) this.move(this.hold + (a - this.addr), a, PAGE_SIZE);
    this.sys.mremap(this.target, this.len, this.len, MREMAP_MAYMOVE | MREMAP_FIXED, this.addr);
    // absorbed guards become markers at once: an access there raises SIGSEGV before, during
    // (a marker is checked before userfaultfd is asked) and after the merge
    for (const g of this.guards) this.sys.madvise(g.start, g.end - g.start, MADV_GUARD_INSTALL);
    this.swapped = true;
  }

  /** Whether the target has replaced the fragments (before that, pages brought home must leave again). */
  private swapped = false;

  private moveIn(): boolean {
    const n = Math.min(this.stepPages * PAGE_SIZE, this.len - this.off);
    this.move(this.addr + this.off, this.hold + this.off, n);
    this.off += n;
    return this.off >= this.len;
  }

  private finish(): void {
    this.sys.uffdUnregister(this.fd, this.addr, this.len);
    this.sys.munmap(this.hold, this.len);
    this.sys.close(this.fd);
    if (this.opts.hugepage) this.sys.madvise(this.addr, this.len, MADV_HUGEPAGE);
  }

  /** Pages the monitor moved back into the fragments while "out" was under way. */
  private readonly home = new Set<number>();

  /** The monitor: a page in flight is wanted at `address`: move it home first. */
  private onMessage(m: UffdMsg): void {
    if (m.event !== UFFD_EVENT_PAGEFAULT) return;
    const page = m.address - (m.address % PAGE_SIZE);
    if (page < this.addr || page >= this.addr + this.len) return;
    // a guard page faults before the swap as PROT_NONE and after it as a marker: never here
    if (this.guards.some((g) => page >= g.start && page < g.end)) return;
    this.result.faultsServed++;
    try {
      this.sys.uffdMove(this.fd, page, this.hold + (page - this.addr), PAGE_SIZE);
      if (!this.swapped) this.home.add(page);
    } catch (e) {
      if (!(e instanceof UffdError) || e.code !== 'ENOENT') throw e;
      // nothing in flight for this page: it never had one, so it reads as zeroes
      this.sys.uffdZeropage(this.fd, page, PAGE_SIZE);
      if (!this.swapped) this.home.add(page);
    }
  }
}

/** mremap_vma_merge(addr, len): make the range one VMA, all at once. */
export function mremapVmaMerge(sys: Sys, addr: number, len: number, opts: MergeOptions = {}): MergeResult {
  const m = new VmaMerge(sys, addr, len, opts);
  if (m.result.vmasBefore < 2) return m.result;
  while (m.step()) {
    /* run every step */
  }
  return m.result;
}
