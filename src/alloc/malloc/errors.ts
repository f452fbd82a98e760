// What free and realloc report instead of corrupting the heap.

export type HeapErrorKind = 'invalid-pointer' | 'double-free';

/** A pointer the allocator did not hand out, or handed out and already took back. */
export class HeapError extends Error {
  constructor(
    readonly kind: HeapErrorKind,
    readonly ptr: number,
    readonly op: string,
  ) {
    super(`${op}(0x${ptr.toString(16)}): ${kind === 'double-free' ? 'double free' : 'invalid pointer'}`);
    this.name = 'HeapError';
  }
}
