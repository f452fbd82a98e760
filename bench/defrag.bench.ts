// mremap_vma_merge at scale (`npm run bench:defrag`): a 1 GiB range made of 10,000 anonymous VMAs
// (each moved into place by mremap, so Linux will not merge them), every page populated, merged
// into one VMA. The figure to beat is 2 seconds of wall time.
import { mremapVmaMerge } from '../src/alloc/defrag.js';
import { Process } from '../src/mm/process.js';
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';

const P = 4096;
const FRAGMENTS = 10_000;
const PAGES = 262_144; // 1 GiB
const RW = PROT_READ | PROT_WRITE;

const p = new Process({ settings: { maxMapCount: 1 << 20 } });
const base = p.mmap(0, PAGES * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
p.munmap(base, PAGES * P); // keep the address range, empty
const t0 = performance.now();
let at = 0;
for (let i = 0; i < FRAGMENTS; i++) {
  const pages = i < PAGES % FRAGMENTS ? Math.ceil(PAGES / FRAGMENTS) : Math.floor(PAGES / FRAGMENTS);
  const src = p.mmap(0, pages * P, RW, MAP_PRIVATE | MAP_ANONYMOUS);
  p.fill(src, pages * P, (i % 255) + 1);
  p.mremap(src, pages * P, pages * P, MREMAP_MAYMOVE | MREMAP_FIXED, base + at * P);
  at += pages;
}
const vmas = p.mm.vmas.overlapping(base, base + PAGES * P).length;
console.log(`built ${vmas} VMAs over ${(PAGES * P) / 2 ** 30} GiB, ${p.mm.rss} pages resident, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const t1 = performance.now();
const r = mremapVmaMerge(p, base, PAGES * P, { stepPages: 1 << 16 });
const ms = performance.now() - t1;
console.log(`mremap_vma_merge: ${r.vmasBefore} VMAs -> ${p.mm.vmas.overlapping(base, base + PAGES * P).length} in ${ms.toFixed(0)} ms (${r.steps} steps, ${(r.bytesMoved / 2 ** 30).toFixed(2)} GiB moved)`);
const sample = [0, 12345, 200000, PAGES - 1].map((pg) => p.read8(base + pg * P));
console.log(`spot check: ${sample.join(', ')}`);
