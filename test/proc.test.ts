// /proc text formats, compared with what Linux 6.18 prints for the same mappings.
import { describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import * as U from '../src/mm/uapi.js';
import { FIXED, RW } from './helpers/layout.js';

describe('/proc/self/maps', () => {
  it('prints anonymous, shmem and heap lines exactly as show_map_vma does', () => {
    const p = new Process();
    p.mmap(0x7f9bd4800000, 0x1000, RW, FIXED);
    p.mmap(0x7f9bd5208000, 0x2000, RW, U.MAP_SHARED | U.MAP_ANONYMOUS | U.MAP_FIXED);
    p.sbrk(0x3000);
    const lines = p.readProc('/proc/self/maps').split('\n');
    expect(lines[0]).toBe('555555560000-555555563000 rw-p 00000000 00:00 0                          [heap]');
    expect(lines[1]).toBe('7f9bd4800000-7f9bd4801000 rw-p 00000000 00:00 0 ');
    expect(lines[2]).toMatch(/^7f9bd5208000-7f9bd520a000 rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/);
    expect(lines[2].indexOf('/dev/zero')).toBe(73);
  });
});

describe('/proc/self/smaps', () => {
  it('reports a THP block with the kernel field layout', () => {
    const p = new Process();
    p.mmap(0x7f9bd4c00000, 0x200000, RW, FIXED);
    p.madvise(0x7f9bd4c00000, 0x200000, U.MADV_HUGEPAGE);
    p.write8(0x7f9bd4c00000, 1);
    expect(p.readProc('/proc/self/smaps')).toBe(
      [
        '7f9bd4c00000-7f9bd4e00000 rw-p 00000000 00:00 0 ',
        'Size:               2048 kB',
        'KernelPageSize:        4 kB',
        'MMUPageSize:           4 kB',
        'Rss:                2048 kB',
        'Pss:                2048 kB',
        'Pss_Dirty:          2048 kB',
        'Shared_Clean:          0 kB',
        'Shared_Dirty:          0 kB',
        'Private_Clean:         0 kB',
        'Private_Dirty:      2048 kB',
        'Referenced:         2048 kB',
        'Anonymous:          2048 kB',
        'KSM:                   0 kB',
        'LazyFree:              0 kB',
        'AnonHugePages:      2048 kB',
        'ShmemPmdMapped:        0 kB',
        'FilePmdMapped:         0 kB',
        'Shared_Hugetlb:        0 kB',
        'Private_Hugetlb:       0 kB',
        'Swap:                  0 kB',
        'SwapPss:               0 kB',
        'Locked:                0 kB',
        'THPeligible:           1',
        'VmFlags: rd wr mr mw me ac hg ',
        '',
      ].join('\n'),
    );
  });

  it('counts MADV_FREE pages as clean LazyFree and MAP_NORESERVE as nr, not ac', () => {
    const p = new Process();
    const a = p.mmap(0, 0x4000, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS | U.MAP_NORESERVE);
    p.fill(a, 0x4000, 1);
    p.madvise(a, 0x2000, U.MADV_FREE);
    const s = p.readProc('/proc/self/smaps');
    expect(s).toContain('Private_Clean:         8 kB\nPrivate_Dirty:         8 kB');
    expect(s).toContain('LazyFree:              8 kB');
    expect(s).toContain('VmFlags: rd wr mr mw me nr \n');
  });

  it('sums every VMA in smaps_rollup and counts THP events in vmstat', () => {
    const p = new Process();
    const a = p.mmap(0, 0x400000, RW, U.MAP_PRIVATE | U.MAP_ANONYMOUS);
    p.madvise(a, 0x400000, U.MADV_HUGEPAGE);
    p.write8(a, 1);
    p.madvise(a, 0x1000, U.MADV_DONTNEED);
    const r = p.readProc('/proc/self/smaps_rollup');
    expect(r).toContain('Rss:                2044 kB');
    expect(r).toContain('AnonHugePages:         0 kB');
    expect(r).toContain('Pss_Anon:           2044 kB');
    const v = p.readProc('/proc/vmstat');
    expect(v).toContain('thp_fault_alloc 1\n');
    expect(v).toContain('thp_split_pmd 1\n');
    expect(v).toContain('nr_anon_pages 511\n');
  });
});
