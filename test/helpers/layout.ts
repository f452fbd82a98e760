// Draw an address range as the kernel's VMA tests do: one character per page, a letter per VMA
// (in address order), '.' for no VMA.
import type { Process } from '../../src/mm/process.js';

export function draw(p: Process, base: number, pages: number): string {
  let out = '';
  const letters = new Map<object, string>();
  for (let i = 0; i < pages; i++) {
    const v = p.mm.vmas.find(base + i * 4096);
    if (!v) {
      out += '.';
      continue;
    }
    if (!letters.has(v)) letters.set(v, String.fromCharCode(65 + letters.size));
    out += letters.get(v);
  }
  return out;
}

export const RW = 3;
export const PRIV_ANON = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS
export const FIXED = 0x10 | 0x22; // MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS
export const BASE = 0x10000000;
