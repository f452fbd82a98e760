// Speed and size of the simulated mm (`npm run bench`): faults, mmap/munmap among many VMAs,
// MADV_DONTNEED, VMA lookup at scale, userfaultfd operations (uffd.bench.ts), and the memory a
// huge sparse reservation costs.
// Each figure is printed beside the real kernel's, measured by tools/recorder.c in the same run.
import { Bench } from 'tinybench';
import { Process } from '../src/mm/process.js';
import { MADV_DONTNEED, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';
import { printComparison, realKernelNs } from './real-kernel.js';
import { addUffdBenchmarks } from './uffd.bench.js';

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const only = process.argv.slice(2);

/** A process with n VMAs: alternating rw/r pages in one reservation, as a guarded heap makes them. */
function withVmas(n: number): { p: Process; base: number; len: number } {
  const p = new Process({ settings: { maxMapCount: 1 << 20 } });
  const len = n * P;
  const base = p.mmap(0, len, RW, ANON | MAP_NORESERVE);
  for (let i = 0; i < n; i += 2) p.mprotect(base + i * P, P, PROT_READ);
  return { p, base, len };
}

async function timed(): Promise<{ name: string; simNs: number }[]> {
  const bench = new Bench({ time: 500, warmupTime: 100 });

  // 4 KiB anonymous write faults, each on a new page; the region is renewed outside the timing
  const wf = new Process();
  const REGION = 16 << 20;
  let wfBase = 0;
  let wfAt = 0;
  const renew = () => {
    if (wfBase) wf.munmap(wfBase, REGION);
    wfBase = wf.mmap(0, REGION, RW, ANON);
    wf.madvise(wfBase, REGION, MADV_NOHUGEPAGE);
    wfAt = wfBase;
  };
  renew();
  bench.add(
    'write-fault-4k',
    () => {
      wf.write8(wfAt, 1);
      wfAt += P;
    },
    { afterEach: () => void (wfAt >= wfBase + REGION && renew()) },
  );

  // mmap + munmap of 4 KiB with 20,000 VMAs present (the recorder builds the same layout)
  const many = withVmas(20000);
  bench.add('mmap-munmap-4k-10k-vmas', () => {
    const a = many.p.mmap(0, P, RW, ANON);
    many.p.munmap(a, P);
  });

  // MADV_DONTNEED of 2 MiB populated with 512 small pages; repopulated outside the timing
  const dn = new Process();
  const dnBase = dn.mmap(0, 2 << 20, RW, ANON);
  dn.madvise(dnBase, 2 << 20, MADV_NOHUGEPAGE);
  bench.add('dontneed-2m', () => dn.madvise(dnBase, 2 << 20, MADV_DONTNEED), {
    beforeEach: () => {
      for (let a = dnBase; a < dnBase + (2 << 20); a += P) dn.write8(a, 1);
    },
  });

  // find_vma at 100 and at 65,000 VMAs, over the same random addresses inside the range
  for (const n of [100, 65000]) {
    const { p, base, len } = withVmas(n);
    const addrs = Float64Array.from({ length: 4096 }, () => base + Math.floor(Math.random() * (len / P)) * P);
    let i = 0;
    // 64 lookups per iteration, so the harness's own cost does not hide the lookup's
    bench.add(`find-vma-${n}`, () => {
      for (let k = 0; k < 64; k++) p.mm.vmas.find(addrs[i++ & 4095]);
    });
  }

  addUffdBenchmarks(bench);

  for (const t of bench.tasks) if (only.length && !only.includes(t.name)) bench.remove(t.name);
  await bench.run();
  return bench.tasks.map((t) => {
    const ns = (t.result as { latency: { mean: number } }).latency.mean * 1e6;
    return { name: t.name, simNs: t.name.startsWith('find-vma') ? ns / 64 : ns };
  });
}

/** Process memory for a 1 TiB MAP_NORESERVE reservation with 1 GiB of it written. */
function sparseReservation(): void {
  globalThis.gc?.();
  const before = process.memoryUsage();
  const p = new Process();
  const base = p.mmap(0, 2 ** 40, RW, ANON | MAP_NORESERVE);
  const t0 = performance.now();
  const chunk = new Uint8Array(1 << 20).fill(0xa5);
  for (let off = 0; off < 2 ** 30; off += chunk.length) p.write(base + off * 64, chunk); // spread over the TiB
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  const rss = (after.rss - before.rss) / 2 ** 30;
  const held = (after.arrayBuffers - before.arrayBuffers) / 2 ** 30;
  console.log(
    `1 TiB MAP_NORESERVE, 1 GiB written: process RSS +${rss.toFixed(3)} GiB (page bytes ${held.toFixed(3)} GiB, ` +
      `${p.mm.pt.pmds.size} PMD tables), ${(ms / 1000).toFixed(1)} s; simulated RSS ${(p.mm.rss * P) / 2 ** 30} GiB`,
  );
}

const results = await timed();
const real = realKernelNs(results.map((r) => r.name));
printComparison(results, real);
const f100 = results.find((r) => r.name === 'find-vma-100');
const f65k = results.find((r) => r.name === 'find-vma-65000');
if (f100 && f65k) console.log(`find_vma at 65,000 VMAs takes ${(f65k.simNs / f100.simNs).toFixed(2)}x its time at 100 VMAs`);
if (!only.length || only.includes('sparse')) sparseReservation();
