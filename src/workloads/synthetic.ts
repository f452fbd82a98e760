// Synthetic workloads with seeds: uniform and power-law sizes, churn around a target live set,
// Larson-like, producer/consumer, realloc growth, and a browser-like heap. Each returns an
// EventList; the same seed gives the same list.
import { EventList, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, OP_THREAD } from './events.js';

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Live IDs with O(1) random removal and dense ID reuse. */
class LiveSet {
  readonly ids: number[] = [];
  readonly sizes = new Map<number, number>();
  private readonly freeIds: number[] = [];
  private next = 0;

  take(size: number): number {
    const id = this.freeIds.pop() ?? this.next++;
    this.ids.push(id);
    this.sizes.set(id, size);
    return id;
  }

  removeAt(i: number): number {
    const id = this.ids[i];
    this.ids[i] = this.ids[this.ids.length - 1];
    this.ids.pop();
    this.sizes.delete(id);
    this.freeIds.push(id);
    return id;
  }

  get length(): number {
    return this.ids.length;
  }
}

export interface SyntheticOptions {
  seed?: number;
  events?: number;
}

type SizeFn = (r: () => number) => number;

const uniformSize: SizeFn = (r) => 16 + Math.floor(r() * 4080);
/** Pareto-like: mostly small, with a heavy tail up to 4 MiB. */
const powerLawSize: SizeFn = (r) => Math.min(4 << 20, Math.floor(16 / Math.pow(1 - r() * 0.999999, 1.3)));

/** Allocate up to a live target, then churn: each step frees a random object or allocates. */
function churn(name: string, size: SizeFn, target: number, o: SyntheticOptions): EventList {
  const r = rng(o.seed ?? 1);
  const n = o.events ?? 200_000;
  const ev = new EventList(name);
  const live = new LiveSet();
  let liveBytes = 0;
  while (ev.length < n) {
    if (liveBytes < target || live.length === 0 || r() < 0.5) {
      const s = size(r);
      const kind = r();
      const id = live.take(s);
      if (kind < 0.05) ev.push(OP_CALLOC, id, 1, s);
      else if (kind < 0.07) ev.push(OP_MEMALIGN, id, 64, s);
      else ev.push(OP_MALLOC, id, s);
      liveBytes += s;
    } else {
      const i = Math.floor(r() * live.length);
      liveBytes -= live.sizes.get(live.ids[i])!;
      ev.push(OP_FREE, live.removeAt(i));
    }
  }
  return ev;
}

/** Larson: threads that each keep a window of objects and replace random ones. */
function larson(o: SyntheticOptions, threads = 4): EventList {
  const r = rng(o.seed ?? 1);
  const n = o.events ?? 200_000;
  const ev = new EventList('larson');
  const live = new LiveSet();
  const slots: number[][] = Array.from({ length: threads }, () => []);
  while (ev.length < n) {
    const t = Math.floor(r() * threads);
    ev.push(OP_THREAD, t);
    if (ev.length >= n) break;
    for (let k = 0; k < 16 && ev.length < n; k++) {
      const mine = slots[t];
      if (mine.length >= 1000 || (mine.length && r() < 0.5)) {
        const j = Math.floor(r() * mine.length);
        const id = mine[j];
        mine[j] = mine[mine.length - 1];
        mine.pop();
        live.removeAt(live.ids.indexOf(id));
        ev.push(OP_FREE, id);
      } else {
        const s = 8 + Math.floor(r() * 1000);
        const id = live.take(s);
        mine.push(id);
        ev.push(OP_MALLOC, id, s);
      }
    }
  }
  return ev;
}

/** Producer/consumer: thread 0 allocates messages, thread 1 frees them in FIFO order. */
function producerConsumer(o: SyntheticOptions): EventList {
  const r = rng(o.seed ?? 1);
  const n = o.events ?? 200_000;
  const ev = new EventList('prodcons');
  const queue: number[] = [];
  let next = 0;
  const freeIds: number[] = [];
  while (ev.length < n) {
    ev.push(OP_THREAD, 0);
    if (ev.length >= n) break;
    const burst = 1 + Math.floor(r() * 64);
    for (let k = 0; k < burst && ev.length < n; k++) {
      const id = freeIds.pop() ?? next++;
      queue.push(id);
      ev.push(OP_MALLOC, id, 64 + Math.floor(r() * 2048));
    }
    if (ev.length >= n) break;
    ev.push(OP_THREAD, 1);
    const take = Math.min(queue.length, Math.floor(r() * 80));
    for (let k = 0; k < take && ev.length < n; k++) {
      const id = queue.shift()!;
      freeIds.push(id);
      ev.push(OP_FREE, id);
    }
  }
  return ev;
}

/** Buffers that grow by realloc (vectors, strings), some to tens of MiB. */
function reallocGrowth(o: SyntheticOptions): EventList {
  const r = rng(o.seed ?? 1);
  const n = o.events ?? 100_000;
  const ev = new EventList('realloc');
  const live = new LiveSet();
  while (ev.length < n) {
    if (live.length < 64 || r() < 0.3) {
      const s = 64;
      ev.push(OP_MALLOC, live.take(s), s);
    } else if (r() < 0.85) {
      const i = Math.floor(r() * live.length);
      const id = live.ids[i];
      const s = Math.min(64 << 20, Math.ceil(live.sizes.get(id)! * (1.5 + r())));
      live.sizes.set(id, s);
      ev.push(OP_REALLOC, id, id, s);
    } else {
      ev.push(OP_FREE, live.removeAt(Math.floor(r() * live.length)));
    }
  }
  return ev;
}

/** A browser-like heap: many small DOM-ish objects, medium strings, and large canvas buffers. */
function browser(o: SyntheticOptions): EventList {
  const size: SizeFn = (r) => {
    const k = r();
    if (k < 0.8) return 16 + Math.floor(r() * 240);
    if (k < 0.98) return 256 + Math.floor(r() * 16000);
    return (256 << 10) + Math.floor(r() * (8 << 20));
  };
  return churn('browser', size, 96 << 20, o);
}

export const WORKLOADS: Record<string, { describe: string; make: (o: SyntheticOptions) => EventList }> = {
  uniform: { describe: 'uniform sizes 16 B-4 KiB, churn around 32 MiB live', make: (o) => churn('uniform', uniformSize, 32 << 20, o) },
  powerlaw: { describe: 'power-law sizes up to 4 MiB, churn around 64 MiB live', make: (o) => churn('powerlaw', powerLawSize, 64 << 20, o) },
  churn: { describe: 'mixed sizes, 50/50 malloc/free around a 48 MiB live set', make: (o) => churn('churn', (r) => (r() < 0.9 ? uniformSize(r) : powerLawSize(r)), 48 << 20, o) },
  larson: { describe: 'Larson-like: 4 threads replacing random objects in their windows', make: (o) => larson(o) },
  prodcons: { describe: 'producer/consumer: thread 0 allocates, thread 1 frees FIFO', make: (o) => producerConsumer(o) },
  realloc: { describe: 'buffers growing by realloc up to 64 MiB', make: (o) => reallocGrowth(o) },
  browser: { describe: 'browser-like: small objects, strings, large canvas buffers', make: (o) => browser(o) },
};

