// A map from addresses to what an allocator knows of them, for keys that are freed and reused
// over and over (an allocator hands the same address out again and again). V8's Map keeps a
// deleted entry in its bucket's chain until the table next grows, so deleting and re-adding one
// key N times between growths makes each lookup of it walk N dead entries: with 10,000 other
// live keys, a million set/delete pairs of one key take 28 s instead of 0.25 s. This is an
// open-addressing table over typed arrays instead (linear probing; a delete leaves a tombstone
// that the next set of any key on its probe path reuses; the table is rebuilt when live entries
// and tombstones fill three quarters of it), with no object per entry.

const EMPTY = 0;
const FULL = 1;
const TOMB = 2;

/** A 32-bit mix of a non-negative integer key of up to 53 bits (addresses, page numbers). */
function hash(k: number): number {
  let h = (k >>> 0) ^ Math.imul((k / 4294967296) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}

export class AddressMap<V> {
  private keys = new Float64Array(16);
  private state = new Uint8Array(16);
  private vals: (V | undefined)[] = new Array<V | undefined>(16).fill(undefined);
  private mask = 15;
  private live = 0;
  /** Slots FULL or TOMB: what a probe may have to step over. */
  private used = 0;

  get size(): number {
    return this.live;
  }

  /** The slot holding k, or -1. */
  private find(k: number): number {
    const { keys, state, mask } = this;
    for (let i = hash(k) & mask; ; i = (i + 1) & mask) {
      const s = state[i];
      if (s === EMPTY) return -1;
      if (s === FULL && keys[i] === k) return i;
    }
  }

  get(k: number): V | undefined {
    const i = this.find(k);
    return i < 0 ? undefined : this.vals[i];
  }

  has(k: number): boolean {
    return this.find(k) >= 0;
  }

  set(k: number, v: V): this {
    const { keys, state, mask } = this;
    let tomb = -1;
    let i = hash(k) & mask;
    for (; ; i = (i + 1) & mask) {
      const s = state[i];
      if (s === EMPTY) break;
      if (s === FULL && keys[i] === k) {
        this.vals[i] = v;
        return this;
      }
      if (s === TOMB && tomb < 0) tomb = i;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    keys[i] = k;
    state[i] = FULL;
    this.vals[i] = v;
    this.live++;
    if (this.used * 4 > (this.mask + 1) * 3) this.rebuild();
    return this;
  }

  delete(k: number): boolean {
    const i = this.find(k);
    if (i < 0) return false;
    this.state[i] = TOMB;
    this.vals[i] = undefined;
    this.live--;
    return true;
  }

  /** The live entries, in no particular order. */
  *entries(): IterableIterator<[number, V]> {
    for (let i = 0; i <= this.mask; i++) if (this.state[i] === FULL) yield [this.keys[i], this.vals[i] as V];
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  /** A fresh table with the live entries only: twice the size when they fill half of it. */
  private rebuild(): void {
    const { keys, state, vals } = this;
    let cap = this.mask + 1;
    if (this.live * 2 > cap) cap *= 2;
    this.keys = new Float64Array(cap);
    this.state = new Uint8Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < state.length; i++) if (state[i] === FULL) this.set(keys[i], vals[i] as V);
  }
}

/** A set of addresses with AddressMap's behaviour under churn. */
export class AddressSet {
  private readonly map = new AddressMap<true>();

  get size(): number {
    return this.map.size;
  }

  has(k: number): boolean {
    return this.map.has(k);
  }

  add(k: number): this {
    this.map.set(k, true);
    return this;
  }

  delete(k: number): boolean {
    return this.map.delete(k);
  }
}
