// userfaultfd, after the intent of tools/testing/selftests/mm/uffd-unit-tests.c: sigbus,
// zeropage, move, poison, minor, wp-unpopulated, events, and the API's errors.
import { describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import * as F from '../src/mm/userfaultfd/index.js';
import { FaultHang } from '../src/mm/access.js';
import { BASE, FIXED, RW } from './helpers/layout.js';

const P = 4096;
const M2 = 2 * 1024 * 1024;

function armed(features = F.UFFD_FEATURE_SIGBUS, len = 16 * P, mode = F.UFFDIO_REGISTER_MODE_MISSING) {
  const p = new Process();
  p.mmap(BASE, len, RW, FIXED);
  const fd = p.userfaultfd(F.O_CLOEXEC | F.O_NONBLOCK);
  p.uffdApi(fd, features);
  p.uffdRegister(fd, BASE, len, mode);
  return { p, fd };
}

function uffdError(fn: () => unknown): F.UffdError {
  try {
    fn();
  } catch (e) {
    if (e instanceof F.UffdError) return e;
    throw e;
  }
  throw new Error('expected a UffdError');
}

describe('API', () => {
  it('refuses a second handshake, an unknown API, unknown and unmodelled features', () => {
    const p = new Process();
    const fd = p.userfaultfd();
    expect(() => p.uffdApi(fd, 0, 0xab)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => p.uffdApi(fd, 1 << 30)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => p.uffdApi(fd, F.UFFD_FEATURE_EVENT_FORK)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const offered = p.uffdApi(fd, F.UFFD_FEATURE_SIGBUS | F.UFFD_FEATURE_MOVE);
    expect(offered & F.UFFD_FEATURE_MOVE).toBeTruthy();
    expect(() => p.uffdApi(fd, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('needs privilege without UFFD_USER_MODE_ONLY, and rejects unknown flags', () => {
    const p = new Process({ privileged: false });
    expect(() => p.userfaultfd()).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(p.userfaultfd(F.UFFD_USER_MODE_ONLY)).toBeGreaterThan(2);
    expect(() => p.userfaultfd(0x40)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('registers only after the handshake, and never over another context', () => {
    const p = new Process();
    p.mmap(BASE, 4 * P, RW, FIXED);
    const a = p.userfaultfd();
    expect(() => p.uffdRegister(a, BASE, P, F.UFFDIO_REGISTER_MODE_MISSING)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    p.uffdApi(a);
    p.uffdRegister(a, BASE, P, F.UFFDIO_REGISTER_MODE_MISSING);
    const b = p.userfaultfd();
    p.uffdApi(b);
    expect(() => p.uffdRegister(b, BASE, 2 * P, F.UFFDIO_REGISTER_MODE_MISSING)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(p.mm.mapCount).toBe(2);
    p.close(a); // release unregisters, and the VMAs merge again
    expect(p.mm.mapCount).toBe(1);
  });
});

describe('sigbus', () => {
  it('raises SIGBUS (BUS_ADRERR) on a missing page, EFAULT for the kernel, until the page is mapped', () => {
    const { p, fd } = armed();
    expect(() => p.read8(BASE + 5)).toThrow(expect.objectContaining({ name: 'SIGBUS', code: U.BUS_ADRERR, addr: BASE + 5 }));
    const z = p.open('/dev/zero');
    expect(() => p.readInto(z, BASE, 16)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(p.uffdZeropage(fd, BASE, P)).toBe(P);
    expect(p.read8(BASE + 5)).toBe(0);
    expect(p.readInto(z, BASE, 2 * P)).toBe(P); // short count at the next missing page
  });

  it('lets a SIGBUS handler map the page and retry, as a userland mmap would', () => {
    const { p, fd } = armed();
    let faults = 0;
    p.sigaction(U.SIGBUS, (info) => {
      faults++;
      p.uffdZeropage(fd, info.addr - (info.addr % P), P);
      return true;
    });
    p.write(BASE + P - 2, [1, 2, 3, 4]);
    expect(faults).toBe(2);
    expect(Array.from(p.read(BASE + P - 2, 4))).toEqual([1, 2, 3, 4]);
  });
});

describe('zeropage and copy', () => {
  it('report EEXIST with partial progress, and ENOENT outside registered memory', () => {
    const { p, fd } = armed();
    p.uffdZeropage(fd, BASE + 2 * P, P);
    const e = uffdError(() => p.uffdZeropage(fd, BASE, 4 * P));
    expect([e.code, e.progress]).toEqual(['EAGAIN', 2 * P]);
    const e2 = uffdError(() => p.uffdZeropage(fd, BASE + 2 * P, P));
    expect([e2.code, e2.progress]).toEqual(['EEXIST', -17]);
    const e3 = uffdError(() => p.uffdZeropage(fd, BASE + 64 * P, P));
    expect([e3.code, e3.progress]).toEqual(['ENOENT', -2]);
    const e4 = uffdError(() => p.uffdZeropage(fd, BASE + 1, P));
    expect([e4.code, e4.progress]).toEqual(['EINVAL', 0]);
  });

  it('COPY reads its source from user memory and can map write-protected', () => {
    const { p, fd } = armed(F.UFFD_FEATURE_SIGBUS, 16 * P, F.UFFDIO_REGISTER_MODE_MISSING | F.UFFDIO_REGISTER_MODE_WP);
    const src = p.mmap(0, P, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
    p.fill(src, P, 0x5a);
    expect(p.uffdCopy(fd, BASE, src, P, F.UFFDIO_COPY_MODE_WP)).toBe(P);
    expect(p.read8(BASE + 100)).toBe(0x5a);
    expect(() => p.write8(BASE, 1)).toThrow(expect.objectContaining({ name: 'SIGBUS' }));
    p.uffdWriteprotect(fd, BASE, P, 0);
    p.write8(BASE, 1);
    expect(p.read8(BASE)).toBe(1);
    const e = uffdError(() => p.uffdCopy(fd, BASE + P, BASE + 8 * P, P));
    expect(e.code).toBe('EFAULT'); // the source page is missing in a sigbus range
  });
});

describe('huge zero page extension', () => {
  it('maps whole 2 MiB blocks with the huge zero page only when asked', () => {
    const make = () => {
      const r = armed(F.UFFD_FEATURE_SIGBUS, 2 * M2);
      r.p.madvise(BASE, 2 * M2, U.MADV_HUGEPAGE);
      return r;
    };
    const plain = make();
    plain.p.uffdZeropage(plain.fd, BASE, 2 * M2);
    expect(plain.p.mm.pt.pmd(BASE)!.huge).toBe(0);
    const ext = make();
    ext.p.uffdZeropage(ext.fd, BASE, 2 * M2, F.UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT);
    expect(ext.p.mm.pt.pmd(BASE)!.huge).toBe(-1);
    expect(ext.p.mm.rss).toBe(0);
    ext.p.write8(BASE + 10, 1);
    expect(ext.p.mm.rss).toBe(512); // the proposal's intent: the block becomes a THP
    expect(ext.p.readProc('/proc/self/smaps')).toContain('AnonHugePages:      2048 kB');
  });

  it("splits to a 4 KiB page on write with hugeZeroWrite: 'split' (Linux before 6.11)", () => {
    const p = new Process({ settings: { hugeZeroWrite: 'split' } });
    p.mmap(BASE, M2, RW, FIXED);
    p.madvise(BASE, M2, U.MADV_HUGEPAGE);
    const fd = p.userfaultfd();
    p.uffdApi(fd, F.UFFD_FEATURE_SIGBUS);
    p.uffdRegister(fd, BASE, M2, F.UFFDIO_REGISTER_MODE_MISSING);
    p.uffdZeropage(fd, BASE, M2, F.UFFDIO_ZEROPAGE_MODE_HUGE_ZERO_EXT);
    p.write8(BASE + P, 1);
    expect(p.mm.rss).toBe(1);
    expect(p.read8(BASE + 2 * P)).toBe(0);
    expect(p.kernel.vmstat.thp_split_pmd).toBe(1);
  });
});

describe('move', () => {
  it('moves pages without copying: same frame, source missing again', () => {
    const { p, fd } = armed(F.UFFD_FEATURE_SIGBUS | F.UFFD_FEATURE_MOVE);
    p.uffdZeropage(fd, BASE, P);
    p.fill(BASE, P, 7);
    const frame = p.mm.pt.pte(BASE);
    expect(p.uffdMove(fd, BASE + 8 * P, BASE, P)).toBe(P);
    expect(p.mm.pt.pte(BASE + 8 * P)).toBe(frame);
    expect(p.read8(BASE + 8 * P)).toBe(7);
    expect(() => p.read8(BASE)).toThrow(expect.objectContaining({ name: 'SIGBUS' }));
    const hole = uffdError(() => p.uffdMove(fd, BASE + 4 * P, BASE + 2 * P, P));
    expect([hole.code, hole.progress]).toEqual(['ENOENT', -2]);
    expect(p.uffdMove(fd, BASE + 4 * P, BASE + 2 * P, P, F.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES)).toBe(P);
  });
});

describe('poison', () => {
  it('raises SIGBUS with BUS_MCEERR_AR, EEXIST for fills, and goes away with DONTNEED', () => {
    const { p, fd } = armed(F.UFFD_FEATURE_SIGBUS | F.UFFD_FEATURE_POISON);
    expect(p.uffdPoison(fd, BASE, P)).toBe(P);
    expect(() => p.read8(BASE)).toThrow(expect.objectContaining({ name: 'SIGBUS', code: U.BUS_MCEERR_AR }));
    expect(uffdError(() => p.uffdZeropage(fd, BASE, P)).code).toBe('EEXIST');
    p.madvise(BASE, P, U.MADV_DONTNEED);
    expect(p.uffdZeropage(fd, BASE, P)).toBe(P);
  });
});

describe('minor faults on shmem', () => {
  it('delivers a minor fault for a cached page and CONTINUE maps it', () => {
    const p = new Process();
    const mfd = p.memfdCreate('guest');
    p.ftruncate(mfd, 4 * P);
    const a = p.mmap(BASE, 4 * P, RW, U.MAP_SHARED | U.MAP_FIXED, mfd);
    const b = p.mmap(BASE + 16 * P, 4 * P, RW, U.MAP_SHARED | U.MAP_FIXED, mfd);
    const fd = p.userfaultfd();
    p.uffdApi(fd, F.UFFD_FEATURE_MINOR_SHMEM);
    p.uffdRegister(fd, a, 4 * P, F.UFFDIO_REGISTER_MODE_MINOR);
    p.fill(b + P, P, 0x33); // the page enters the cache through the other mapping
    const seen: F.UffdMsg[] = [];
    p.uffdMonitor(fd, (msg) => {
      seen.push(msg);
      if (msg.event === F.UFFD_EVENT_PAGEFAULT) p.uffdContinue(fd, msg.address, P);
    });
    expect(p.read8(a + P)).toBe(0x33);
    expect(seen).toEqual([{ event: F.UFFD_EVENT_PAGEFAULT, flags: F.UFFD_PAGEFAULT_FLAG_MINOR, address: a + P, ptid: 0 }]);
    expect(uffdError(() => p.uffdContinue(fd, a + 2 * P, P)).code).toBe('EFAULT');
  });
});

describe('wp-unpopulated', () => {
  it('protects empty pages with markers: a write reaches the monitor with the WP flag', () => {
    const { p, fd } = armed(F.UFFD_FEATURE_WP_UNPOPULATED, 4 * P, F.UFFDIO_REGISTER_MODE_WP);
    p.uffdWriteprotect(fd, BASE, 4 * P, F.UFFDIO_WRITEPROTECT_MODE_WP);
    const msgs: F.UffdMsg[] = [];
    p.uffdMonitor(fd, (m) => {
      msgs.push(m);
      p.uffdWriteprotect(fd, BASE, P, 0);
    });
    expect(p.read8(BASE)).toBe(0); // reads are not write faults
    p.write8(BASE, 9);
    expect(msgs).toEqual([
      { event: F.UFFD_EVENT_PAGEFAULT, flags: F.UFFD_PAGEFAULT_FLAG_WRITE | F.UFFD_PAGEFAULT_FLAG_WP, address: BASE, ptid: 0 },
    ]);
    expect(p.read8(BASE)).toBe(9);
  });
});

describe('events and hangs', () => {
  it('queues REMOVE and UNMAP for read(), and reports an unresolved fault as a hang', () => {
    const { p, fd } = armed(F.UFFD_FEATURE_EVENT_REMOVE | F.UFFD_FEATURE_EVENT_UNMAP);
    p.madvise(BASE, 2 * P, U.MADV_DONTNEED);
    p.munmap(BASE + 8 * P, P);
    expect(p.uffdPoll(fd)).toBe(true);
    expect(p.uffdRead(fd)).toEqual({ event: F.UFFD_EVENT_REMOVE, start: BASE, end: BASE + 2 * P });
    expect(p.uffdRead(fd)).toEqual({ event: F.UFFD_EVENT_UNMAP, start: BASE + 8 * P, end: BASE + 9 * P });
    expect(() => p.uffdRead(fd)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(() => p.read8(BASE)).toThrow(FaultHang);
    expect(p.uffdRead(fd)).toMatchObject({ event: F.UFFD_EVENT_PAGEFAULT, address: BASE });
  });
});
