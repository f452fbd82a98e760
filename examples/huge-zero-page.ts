// The proposed UFFDIO_ZEROPAGE extension on and off: with it, each 2 MiB segment is mapped with
// the huge zero page, and the first write turns the block into a THP.
//   npm run build && node dist/examples/huge-zero-page.js
import { Process, UffdMalloc } from '../src/index.js';

export function run(hugeZeroPage: boolean) {
  const proc = new Process();
  const heap = new UffdMalloc(proc, { hugeZeroPage });
  const ptrs: number[] = [];
  for (let i = 0; i < 30000; i++) ptrs.push(heap.malloc(64));
  for (const p of ptrs) proc.write8(p, 1); // touch every object
  const s = heap.stats();
  return { rss: s.rssBytes, thp: s.thpBytes, coverage: s.rssBytes ? s.thpBytes / s.rssBytes : 0, faults: { ...proc.mm.faults } };
}

export function main(log: (s: string) => void = console.log) {
  const off = run(false);
  const on = run(true);
  for (const [name, r] of [['off', off], ['on', on]] as const) {
    log(`huge zero page ${name}: RSS ${r.rss >> 10} kB, THP ${r.thp >> 10} kB (${(r.coverage * 100).toFixed(0)}%), faults ${JSON.stringify(r.faults)}`);
  }
  return { off, on };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
