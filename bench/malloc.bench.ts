// uffd-malloc's speed (`npm run bench:malloc`): small malloc+free pairs on the fast path that
// touches no syscall, beside @thi.ng/malloc (a TypeScript allocator over one ArrayBuffer) on the
// same sequence in the same run; and large (1 MiB) malloc+free pairs, each a userland mmap
// (UFFDIO_ZEROPAGE) and munmap (MADV_DONTNEED) on the simulated kernel.
import { MemPool } from '@thi.ng/malloc';
import { Bench } from 'tinybench';
import { UffdMalloc } from '../src/alloc/index.js';
import { Process } from '../src/mm/process.js';

const bench = new Bench({ time: 700, warmupTime: 150 });

// the same sequence for both: 64 live objects of mixed small sizes, one freed and one taken per pair
const SIZES = Int32Array.from({ length: 4096 }, (_, i) => 16 + ((i * 2654435761) >>> 0) % 496);

const proc = new Process();
const m = new UffdMalloc(proc);
const uffdLive = new Float64Array(64);
for (let i = 0; i < 64; i++) uffdLive[i] = m.malloc(SIZES[i]);
let ui = 0;
bench.add('uffd-malloc small malloc+free', () => {
  const k = ui & 63;
  m.free(uffdLive[k]);
  uffdLive[k] = m.malloc(SIZES[ui++ & 4095]);
});

const pool = new MemPool({ size: 16 << 20 });
const thingLive = new Float64Array(64);
for (let i = 0; i < 64; i++) thingLive[i] = pool.malloc(SIZES[i]);
let ti = 0;
bench.add('@thi.ng/malloc small malloc+free', () => {
  const k = ti & 63;
  pool.free(thingLive[k]);
  thingLive[k] = pool.malloc(SIZES[ti++ & 4095]);
});

const bigProc = new Process();
const big = new UffdMalloc(bigProc);
bench.add('uffd-malloc large (1 MiB) malloc+free', () => {
  big.free(big.malloc(1 << 20));
});

await bench.run();
console.table(
  bench.tasks.map((t) => ({
    benchmark: t.name,
    'pairs/s': Math.round(1000 / (t.result as { latency: { mean: number } }).latency.mean).toLocaleString('en-US'),
  })),
);
const s = big.stats();
console.log(`large pairs: ${s.heap.mmap} userland mmaps, ${s.heap.UFFDIO_ZEROPAGE} UFFDIO_ZEROPAGE, ${s.heap.MADV_DONTNEED} MADV_DONTNEED; VMAs ${bigProc.mm.mapCount}, mmap_lock writes ${bigProc.mm.lock.total.write}`);
