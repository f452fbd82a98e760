// The malloc family's arguments as C sees them, shared by every allocator: sizes are size_t (a
// negative one is a huge one, as (size_t)-1 is), alignments powers of two. A value no C caller
// could pass (a fraction, NaN, Infinity, a string) is a TypeError naming the argument; a request
// that cannot be met is answered with NULL (0) by the caller, which stays usable.

/** A size no allocation can satisfy: negative (huge as size_t) or beyond what a double holds exactly. */
export const TOO_LARGE = -1;

function describe(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : typeof v === 'number' ? String(v) : typeof v;
}

/** A size_t argument of fn: the size, or TOO_LARGE. */
export function sizeArg(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${fn}: ${name} must be a whole number (size_t), not ${describe(v)}`);
  return v < 0 || v > Number.MAX_SAFE_INTEGER ? TOO_LARGE : v;
}

/** calloc's nmemb * size, or TOO_LARGE when either is, or the product overflows. */
export function callocSize(nmemb: unknown, size: unknown): number {
  const n = sizeArg('calloc', 'nmemb', nmemb);
  const s = sizeArg('calloc', 'size', size);
  if (n === TOO_LARGE || s === TOO_LARGE) return TOO_LARGE;
  const total = n * s;
  return Number.isSafeInteger(total) ? total : TOO_LARGE;
}

/**
 * An alignment argument: the alignment when it is a power of two, else 0 (aligned_alloc answers
 * NULL, posix_memalign EINVAL). A non-number is a TypeError like a size.
 */
export function alignArg(fn: string, v: unknown): number {
  const a = sizeArg(fn, 'alignment', v);
  return a > 0 && Number.isInteger(Math.log2(a)) ? a : 0;
}

/** A pointer argument: a whole number (0 is NULL). */
export function ptrArg(fn: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`${fn}: ptr must be a pointer (a whole number, 0 for NULL), not ${describe(v)}`);
  return v;
}

/** aligned_alloc's arguments cannot be met (an alignment not a power of two, a size too large): NULL. */
export function alignedAllocRefused(align: unknown, size: unknown): boolean {
  return !alignArg('aligned_alloc', align) || sizeArg('aligned_alloc', 'size', size) === TOO_LARGE;
}

/** realloc of a live pointer to a size too large: NULL, the old block untouched (realloc(NULL, n) is malloc's to judge). */
export function reallocRefused(ptr: unknown, size: unknown): boolean {
  return ptrArg('realloc', ptr) !== 0 && sizeArg('realloc', 'size', size) === TOO_LARGE;
}
