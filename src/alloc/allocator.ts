// What every allocator in the project offers an experiment: the malloc family with C semantics
// (0 is NULL), over a Sys. A workload is replayed through this and nothing else.
import type { Sys } from './sys.js';

export interface Allocator {
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  alignedAlloc(align: number, size: number): number;
  /** Bytes asked for and not yet freed. */
  readonly liveBytes: number;
  /** The calls that follow come from thread tid (allocators with per-thread state use it). */
  setThread?(tid: number): void;
}

/** Makes an allocator over a process's syscalls. */
export type AllocatorFactory = (sys: Sys) => Allocator;
