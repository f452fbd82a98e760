// The allocators an experiment can name on the command line.
import type { Allocator } from '../alloc/allocator.js';
import { GlibcMalloc } from '../alloc/baselines/glibc.js';
import { GuardedMalloc, MmapPerObject } from '../alloc/baselines/simple.js';
import { UffdMalloc } from '../alloc/malloc/malloc.js';
import type { Sys } from '../alloc/sys.js';

/** Knobs an experiment may set on the allocators it makes. */
export interface AllocatorKnobs {
  /** The uffd heap's one reservation, in bytes. @defaultValue 64 GiB */
  uffdHeapBytes?: number;
}

export const ALLOCATORS: Record<string, { describe: string; make: (sys: Sys, k?: AllocatorKnobs) => Allocator }> = {
  glibc: { describe: 'glibc-like ptmalloc2: brk main arena, mmap at the (dynamic) 128 KiB threshold', make: (s) => new GlibcMalloc(s) },
  guarded: { describe: 'PartitionAlloc-like: slot spans between PROT_NONE guard pages', make: (s) => new GuardedMalloc(s) },
  mmap: { describe: 'every allocation its own mmap, every free a munmap', make: (s) => new MmapPerObject(s) },
  uffd: { describe: 'uffd-malloc: one VMA, userfaultfd SIGBUS mode', make: (s, k) => new UffdMalloc(s, { size: k?.uffdHeapBytes }) },
  'uffd-thp': { describe: 'uffd-malloc with the huge-zero-page UFFDIO_ZEROPAGE extension', make: (s, k) => new UffdMalloc(s, { hugeZeroPage: true, size: k?.uffdHeapBytes }) },
  'uffd-copy': {
    describe: 'uffd-malloc mapping with UFFDIO_COPY of zeroes: no copy-on-write (and no shootdown) at first write',
    make: (s, k) => new UffdMalloc(s, { populate: 'copy', size: k?.uffdHeapBytes }),
  },
  'uffd-batch': {
    describe: 'uffd-malloc giving memory back in 8 MiB batches (fewer, larger MADV_DONTNEEDs)',
    make: (s, k) => new UffdMalloc(s, { releaseBatch: 8 << 20, size: k?.uffdHeapBytes }),
  },
};

export function allocatorNames(): string[] {
  return Object.keys(ALLOCATORS);
}
