// Which slab serves each 64 KiB area of the heap, for free(): one Int32Array entry per area of the
// heap's first terabyte (pages of the table nobody touches cost nothing), holding an id into a list
// of slabs — two loads from a pointer to its slab. Areas beyond (a heap reserved larger than that)
// are found through their segment by the caller.
import type { Slab } from './segment.js';
import { SLAB_SIZE } from './segment.js';

/** Heap bytes the table covers by default: 1 TiB, a 64 MiB table at most. */
export const SLAB_TABLE_BYTES = 2 ** 40;

export class SlabTable {
  /** Heap offsets below this are in the table. */
  readonly covers: number;
  private readonly ids: Int32Array;
  private readonly slabs: (Slab | null)[] = [null];
  private readonly freeIds: number[] = [];

  constructor(
    private readonly heapBase: number,
    heapSize: number,
    tableBytes = SLAB_TABLE_BYTES,
  ) {
    this.covers = Math.min(heapSize, tableBytes);
    this.ids = new Int32Array(Math.ceil(this.covers / SLAB_SIZE));
  }

  /** The slab serving the area at heap offset off (0 <= off < covers), or null. */
  at(off: number): Slab | null {
    const id = this.ids[Math.floor(off / SLAB_SIZE)];
    return id === 0 ? null : this.slabs[id];
  }

  add(slab: Slab): void {
    const off = slab.base - this.heapBase;
    if (off >= this.covers) return;
    const id = this.freeIds.pop() ?? this.slabs.length;
    this.slabs[id] = slab;
    this.ids[off / SLAB_SIZE] = id;
  }

  remove(slab: Slab): void {
    const off = slab.base - this.heapBase;
    if (off >= this.covers) return;
    const area = off / SLAB_SIZE;
    this.slabs[this.ids[area]] = null;
    this.freeIds.push(this.ids[area]);
    this.ids[area] = 0;
  }
}
