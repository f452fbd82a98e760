// Per-thread caches of freed small slots (mimalloc's and glibc's tcache): a thread's free of a
// small object keeps the slot for its next malloc of that class, skipping the slab.
import type { Slab } from './segment.js';

/**
 * A thread's cache of freed small slots (a tcache): per size class a stack of at most `max`
 * pointers, each with its slab, so that handing one out again needs no lookup.
 */
export class ThreadCache {
  readonly count: Int32Array;
  /** Entry j = cls * max + i: the pointer and its slab. */
  readonly ptrs: Float64Array;
  readonly slabs: (Slab | null)[];

  constructor(
    classes: number,
    private readonly max: number,
  ) {
    this.count = new Int32Array(classes);
    this.ptrs = new Float64Array(classes * max);
    this.slabs = new Array<Slab | null>(classes * max).fill(null);
  }

  push(cls: number, ptr: number, slab: Slab): void {
    const j = cls * this.max + this.count[cls]++;
    this.ptrs[j] = ptr;
    this.slabs[j] = slab;
  }

  /** The entry of class cls's last pointer, taken off its stack. */
  pop(cls: number): number {
    return cls * this.max + --this.count[cls];
  }
}
