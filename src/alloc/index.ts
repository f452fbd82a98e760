// The user layer: the single-VMA heap and the malloc on top of it.
export type { Sys } from './sys.js';
export { UffdHeap, UseAfterFreeError, type HeapOptions, type HeapCounters } from './uffd-heap/heap.js';
export { RangeAllocator } from './uffd-heap/range-allocator.js';
export { UffdMalloc, MEDIUM_MAX, type MallocOptions, type MallocStats } from './malloc/malloc.js';
export { HeapError, type HeapErrorKind } from './malloc/errors.js';
export { CLASS_SIZES, SMALL_MAX } from './malloc/size-classes.js';
export { mremapVmaMerge, VmaMerge, checkMergeable, type MergeOptions, type MergeResult, type MergePhase } from './defrag.js';
