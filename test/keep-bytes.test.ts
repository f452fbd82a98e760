// Page contents are optional: a run that keeps no bytes (the default for experiments) reports
// every metric exactly as one that keeps them.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALLOCATORS } from '../src/experiment/allocators.js';
import { runOne } from '../src/experiment/run.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { readTrace } from '../src/workloads/trace.js';
import { Process } from '../src/mm/process.js';
import { MADV_HUGEPAGE, MADV_FREE, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';
import { FRAME_ANON, FrameTable } from '../src/mm/frames.js';

const same = (a: object, b: object) => {
  const { wallMs: _a, ...x } = a as Record<string, unknown>;
  const { wallMs: _b, ...y } = b as Record<string, unknown>;
  expect(x).toEqual(y);
};

describe('keepBytes: false', () => {
  it('gives every metric of every allocator on every workload unchanged', () => {
    for (const name of Object.keys(WORKLOADS)) {
      const w = WORKLOADS[name].make({ seed: 5, events: 6000 });
      for (const a of Object.keys(ALLOCATORS)) same(runOne(w, a, { keepBytes: true, keepSamples: true }), runOne(w, a, { keepSamples: true }));
    }
  });

  const gcc = join(import.meta.dirname, '../../shared/traces/data/gcc-lvm.trace.gz');
  it.skipIf(!existsSync(gcc))('and on a shared trace', () => {
    const w = readTrace(gcc);
    for (const a of ['glibc', 'uffd']) same(runOne(w, a, { keepBytes: true }), runOne(w, a));
  });

  it('still tells the kernel which pages hold data: a split THP keeps only them', () => {
    const rss = (keepBytes: boolean) => {
      const p = new Process({ keepBytes });
      const a = p.mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const h = Math.ceil(a / (2 << 20)) * (2 << 20);
      p.madvise(h, 2 << 20, MADV_HUGEPAGE);
      p.fill(h, 3 * 4096, 7);
      p.madvise(h + 3 * 4096, 4096, MADV_FREE);
      return [p.mm.rss, p.read(h, 1)[0] !== 0, p.read(h + 5 * 4096, 1)[0]];
    };
    expect(rss(false)).toEqual(rss(true));
    expect(rss(false)).toEqual([3, true, 0]);
  });
});

describe('pages one memset covered whole (FrameTable keeps their byte alone)', () => {
  it('read back, copy, split by a partial store and clear exactly as pages of bytes', () => {
    const f = new FrameTable(true);
    const a = f.alloc(FRAME_ANON);
    const b = f.alloc(FRAME_ANON);
    f.fill(a, 0, PAGE_SIZE, 0x5a);
    expect([f.hasData(a), f.isZero(a), f.byteAt(a, 4095), f.bytesHeld()]).toEqual([true, false, 0x5a, 0]);
    f.copy(b, a);
    expect(f.bytes(b)).toEqual(new Uint8Array(PAGE_SIZE).fill(0x5a));
    // a store of another byte into part of the page: the rest keeps 0x5a
    f.fill(b, 100, 10, 0x11);
    f.write(a, 4000, Uint8Array.of(1, 2, 3), 0, 3);
    const want = new Uint8Array(PAGE_SIZE).fill(0x5a);
    want.fill(0x11, 100, 110);
    expect(f.bytes(b)).toEqual(want);
    const out = new Uint8Array(8);
    f.read(a, 3998, out, 0, 8);
    expect([...out]).toEqual([0x5a, 0x5a, 1, 2, 3, 0x5a, 0x5a, 0x5a]);
    expect(f.bytesHeld()).toBeGreaterThan(0);
    // whole-page zeroes leave no data; a whole-page fill over bytes drops them
    f.fill(a, 0, PAGE_SIZE, 0);
    f.fill(b, 0, PAGE_SIZE, 7);
    expect([f.hasData(a), f.isZero(a), f.byteAt(b, 105), f.flags(b)]).toEqual([false, true, 7, FRAME_ANON]);
    f.put(a);
    f.put(b);
    expect(f.bytesHeld()).toBe(0);
  });
});
