// What the baselines share: calloc on top of malloc, and aligned allocation by over-allocating.
import { callocSize, TOO_LARGE } from '../c-args.js';
import type { Sys } from '../sys.js';

/** calloc(3) through malloc: NULL on overflow; zeroes written where memory may be dirty. */
export function callocVia(sys: Sys, malloc: (n: number) => number, nmemb: number, size: number, dirty: (p: number, n: number) => boolean): number {
  const total = callocSize(nmemb, size);
  if (total === TOO_LARGE) return 0;
  const p = malloc(total);
  if (p && total > 0 && dirty(p, total)) sys.fill(p, total, 0);
  return p;
}

/**
 * Over-allocate size + align and hand out the aligned address inside (as _int_memalign does):
 * returns [block, aligned], or null when malloc failed. The caller records the carving.
 */
export function overAligned(malloc: (n: number) => number, align: number, size: number): [number, number] | null {
  const p = malloc(size + align);
  if (!p) return null;
  return [p, Math.ceil(p / align) * align];
}
