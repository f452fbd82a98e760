// memfd/shmem and hugetlbfs files: a page cache of frames indexed by page offset. Mappings of the
// same file share these frames; a punched hole is unmapped from every mapping (mm/shmem.c).
import type { FrameTable } from './frames.js';
import type { MappedFile } from './vma.js';
import { PAGE_SIZE, PMD_SIZE } from './uapi.js';

let nextFileId = 1;

export class ShmemFile implements MappedFile {
  readonly id = nextFileId++;
  /** Page cache: page offset → frame (the cache holds one reference). */
  readonly pages = new Map<number, number>();
  /** hugetlbfs: huge page indices reserved by a mapping (hugetlb_reserve_pages). */
  readonly reserved = new Set<number>();
  /** Called to unmap page offsets [from, to) from every mapping before the cache drops them. */
  onTruncate: ((file: ShmemFile, from: number, to: number) => void)[] = [];

  constructor(
    readonly name: string,
    public size: number,
    readonly inode: number,
    readonly hugetlb = false,
    /** shmem_zero_setup's file, for MAP_SHARED|MAP_ANONYMOUS. */
    readonly devZero = false,
  ) {}

  get path(): string {
    return this.devZero ? '/dev/zero (deleted)' : `/memfd:${this.name} (deleted)`;
  }

  /** Size of one page of this file: 2 MiB on hugetlbfs. */
  get pageSize(): number {
    return this.hugetlb ? PMD_SIZE : PAGE_SIZE;
  }

  /** The frame at page offset pgoff, allocated if the cache has none (shmem_get_folio, SGP_CACHE). */
  page(frames: FrameTable, pgoff: number): number {
    let pfn = this.pages.get(pgoff);
    if (pfn === undefined) {
      pfn = frames.alloc(0);
      this.pages.set(pgoff, pfn);
    }
    return pfn ?? 0;
  }

  /** fallocate(PUNCH_HOLE) / truncate: drop pages [from, to) from the cache and every mapping. */
  punch(frames: FrameTable, from: number, to: number): void {
    for (const fn of this.onTruncate) fn(this, from, to);
    for (const [pgoff, pfn] of this.pages) {
      if (pgoff >= from && pgoff < to) {
        this.pages.delete(pgoff);
        if (this.hugetlb) {
          frames.putHuge(pfn);
          this.onHugeFree?.();
        } else frames.put(pfn);
      }
    }
  }

  /** Told when a hugetlbfs page goes back to the pool. */
  onHugeFree: (() => void) | null = null;
}
