// hugetlbfs memfds: the pool, reservations, PMD mappings outside Rss.
import { describe, expect, it } from 'vitest';
import { Process, MFD_HUGETLB } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { BASE } from './helpers/layout.js';

const M2 = 2 * 1024 * 1024;

function withPool(pages: number) {
  const p = new Process({ settings: { nrHugepages: pages } });
  const fd = p.memfdCreate('huge', MFD_HUGETLB);
  return { p, fd };
}

describe('hugetlbfs', () => {
  it('reserves pool pages at mmap and refuses a mapping the pool cannot back', () => {
    const { p, fd } = withPool(2);
    p.ftruncate(fd, 4 * M2);
    expect(() => p.mmap(BASE, 3 * M2, 3, U.MAP_SHARED | U.MAP_FIXED, fd)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    p.mmap(BASE, 2 * M2, 3, U.MAP_SHARED | U.MAP_FIXED, fd);
    expect(p.kernel.hugepagesReserved).toBe(2);
    p.write8(BASE + 5, 9);
    expect([p.kernel.hugepagesReserved, p.kernel.hugepagesUsed]).toEqual([1, 1]);
    expect(() => p.ftruncate(fd, M2 + 4096)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('maps 2 MiB pages with PMDs, counted as Shared_Hugetlb and not as Rss', () => {
    const { p, fd } = withPool(4);
    p.ftruncate(fd, 2 * M2);
    p.mmap(BASE, 2 * M2, 3, U.MAP_SHARED | U.MAP_FIXED, fd);
    p.write8(BASE + M2 + 7, 3);
    const smaps = p.readProc('/proc/self/smaps');
    expect(smaps).toContain('KernelPageSize:     2048 kB');
    expect(smaps).toContain('Rss:                   0 kB');
    expect(smaps).toContain('Shared_Hugetlb:     2048 kB');
    expect(smaps).toMatch(/VmFlags: rd wr sh mr mw me ms de ht \n/);
    expect(p.mm.rss).toBe(0);
    // unmapping half a huge page is refused; DONTNEED keeps the page in the file
    expect(() => p.munmap(BASE + 4096, 4096)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    p.madvise(BASE + M2, M2, U.MADV_DONTNEED);
    expect(p.read8(BASE + M2 + 7)).toBe(3);
    p.mm.checkInvariants();
  });
});
