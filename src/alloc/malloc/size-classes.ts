// Small-object size classes: four per doubling from 128 bytes (as mimalloc's bins), 16-byte steps
// below. Every power of two is a class, so an aligned request finds a class whose slots, in a
// 64 KiB-aligned slab, are all aligned.

export const CLASS_SIZES: readonly number[] = (() => {
  const out: number[] = [];
  for (let s = 16; s <= 128; s += 16) out.push(s);
  for (let base = 128; base < 32768; base *= 2) for (let k = 1; k <= 4; k++) out.push(base + (k * base) / 4);
  return out;
})();

/** The largest small size; above it requests go to page runs or to the heap directly. */
export const SMALL_MAX = CLASS_SIZES[CLASS_SIZES.length - 1];

/** Class of sizes up to 1024, by (size + 15) >> 4. */
const SMALL_LOOKUP = (() => {
  const t = new Uint8Array(1024 / 16 + 1);
  let c = 0;
  for (let i = 0; i < t.length; i++) {
    while (CLASS_SIZES[c] < i * 16) c++;
    t[i] = c;
  }
  return t;
})();

/** The class index for a request of size bytes (size ≤ SMALL_MAX). */
export function sizeClass(size: number): number {
  if (size <= 1024) return SMALL_LOOKUP[(size + 15) >> 4];
  let c = SMALL_LOOKUP[64];
  while (CLASS_SIZES[c] < size) c++;
  return c;
}

/** The smallest class holding size bytes whose slot size is a multiple of align, or -1. */
export function alignedClass(size: number, align: number): number {
  for (let c = sizeClass(Math.max(size, 1)); c < CLASS_SIZES.length; c++) if (CLASS_SIZES[c] % align === 0) return c;
  return -1;
}
