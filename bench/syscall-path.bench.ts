// Where a small munmap and mmap spend their time (`npm run bench:path`): the commonest pair of an
// mmap-per-object heap — punch a one-page hole in a VMA, then map one page, which fills the hole
// and merges the three VMAs back into one — taken through each layer in turn, so the cost each
// layer adds is the difference between two lines:
//   tree     the VMA tree's own work: find, the clone, punchHole (tree and gap insert), mergeNext
//   vma-ops  plus vma-ops.ts (punchHole, mergeNewRange: splitHugeAt, the merge rules, the proto)
//   sys      plus the syscalls around them (argument checks, counting, mmap_lock, find, the gap
//            search, zap and free_pgtables, overcommit)
//   process  plus Process (the mmu_gather flush, the syscall wrappers)
//   +fill    plus a write to the new page (a fault) and the zap of it at the next munmap
// Figures are this machine's, in ns per hole and refill.
import { Bench } from 'tinybench';
import { Process } from '../src/mm/process.js';
import { sysMmap } from '../src/mm/syscalls/mmap.js';
import { sysMunmap } from '../src/mm/syscalls/munmap.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE as P, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';
import { mergeNewRange, punchHole } from '../src/mm/vma-ops.js';
import { newProto } from '../src/mm/vma.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const PAGES = 20_000;

/** A process with one VMA of PAGES pages (every page written when `written`), and a random page in it. */
function heap(written: boolean): { p: Process; base: number; next: () => number } {
  const p = new Process({ keepBytes: false });
  const base = p.mmap(0, PAGES * P, RW, ANON);
  if (written) p.fill(base, PAGES * P, 1);
  let seed = 1;
  const next = () => base + (((seed = (seed * 1103515245 + 12345) >>> 0) % (PAGES - 10)) + 5) * P;
  return { p, base, next };
}

const bench = new Bench({ time: 1000, warmupTime: 200 });
{
  const { p, next } = heap(false);
  const mm = p.mm;
  bench.add('tree', () => {
    const a = next();
    const v = mm.vmas.find(a)!;
    const hi = v.cloneRange(a + P, v.end);
    mm.vmas.punchHole(v, a, hi);
    mm.vmas.mergeNext(v, hi);
  });
}
{
  const { p, next } = heap(false);
  const mm = p.mm;
  bench.add('vma-ops', () => {
    const a = next();
    const v = mm.vmas.find(a)!;
    punchHole(mm, v, a, a + P);
    mergeNewRange(mm, a, a + P, newProto(v.flags, a / P, 1, null));
  });
}
{
  const { p, next } = heap(false);
  bench.add('sys', () => {
    sysMunmap(p.mm, next(), P);
    sysMmap(p.mm, 0, P, RW, ANON);
  });
}
{
  const { p, next } = heap(false);
  bench.add('process', () => {
    p.munmap(next(), P);
    p.mmap(0, P, RW, ANON);
  });
}
{
  const { p, next } = heap(true);
  bench.add('process +fill', () => {
    p.munmap(next(), P);
    p.fill(p.mmap(0, P, RW, ANON), 64, 1);
  });
}
await bench.run();
let before = 0;
for (const t of bench.tasks) {
  const ns = (t.result as { latency?: { mean: number } } | undefined)?.latency?.mean;
  if (ns === undefined) throw new Error(`${t.name}: no result`);
  const mean = ns * 1e6; // tinybench reports ms
  console.log(`${t.name.padEnd(14)} ${mean.toFixed(0).padStart(5)} ns a hole and refill  (+${(mean - before).toFixed(0)})`);
  before = mean;
}
