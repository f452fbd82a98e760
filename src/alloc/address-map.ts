// Maps from addresses to what an allocator knows of them, for keys that are freed and reused
// over and over (an allocator hands the same address out again and again). V8's Map keeps a
// deleted entry in its bucket's chain until the table next grows, so deleting and re-adding one
// key N times between growths makes each lookup of it walk N dead entries: with 10,000 other
// live keys, a million set/delete pairs of one key take 28 s instead of 0.25 s. These are
// open-addressing tables over one typed array instead (linear probing; a delete leaves a
// tombstone that the next set of any key on its probe path reuses; the table is rebuilt when live
// entries and tombstones fill three quarters of it), with no object per entry. Each slot is a
// pair of numbers, the key and its number, side by side: a lookup touches one cache line where
// keys, states and values in three arrays touched three (the mmap baseline's table of 272 k live
// mappings: 15% faster over its 5.78 M operations on python).

/** Slot keys that are not keys (keys are non-negative). */
const EMPTY = -1;
const TOMB = -2;

/** A 32-bit mix of a non-negative integer key of up to 53 bits (addresses, page numbers). */
function hash(k: number): number {
  let h = (k >>> 0) ^ Math.imul((k / 4294967296) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}

/** The table: key at 2i, its number at 2i + 1. */
class PairTable {
  private t = new Float64Array(32).fill(EMPTY);
  private mask = 15;
  private live = 0;
  /** Slots holding a key or a tombstone: what a probe may have to step over. */
  private used = 0;

  get size(): number {
    return this.live;
  }

  /** The slot holding k, or -1. */
  find(k: number): number {
    const { t, mask } = this;
    for (let i = hash(k) & mask; ; i = (i + 1) & mask) {
      const a = t[2 * i];
      if (a === k) return i;
      if (a === EMPTY) return -1;
    }
  }

  numberAt(i: number): number {
    return this.t[2 * i + 1];
  }

  setNumberAt(i: number, n: number): void {
    this.t[2 * i + 1] = n;
  }

  /** Whether the last claim() put its key in (else the key was there). */
  added = false;

  /**
   * The slot of k, putting k in (its number left for the caller to set) when it is not there:
   * the first tombstone on its probe path, else the empty slot that ends it. settle() after.
   */
  claim(k: number): number {
    const { t, mask } = this;
    let tomb = -1;
    let i = hash(k) & mask;
    for (; ; i = (i + 1) & mask) {
      const a = t[2 * i];
      if (a === k) {
        this.added = false;
        return i;
      }
      if (a === EMPTY) break;
      if (a === TOMB && tomb < 0) tomb = i;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    t[2 * i] = k;
    this.live++;
    this.added = true;
    return i;
  }

  /** Rebuild when keys and tombstones fill three quarters of the table (slots move: claim again after). */
  settle(): void {
    if (this.used * 4 > (this.mask + 1) * 3) this.rebuild();
  }

  /** Take the entry at slot i out. */
  removeAt(i: number): void {
    this.t[2 * i] = TOMB;
    this.live--;
  }

  /** The live entries' keys and numbers, in no particular order. */
  *pairs(): IterableIterator<[number, number]> {
    const t = this.t;
    for (let i = 0; i < t.length; i += 2) if (t[i] >= 0) yield [t[i], t[i + 1]];
  }

  /** A fresh table with the live entries only: twice the size when they fill half of it. */
  private rebuild(): void {
    const old = this.t;
    let cap = this.mask + 1;
    if (this.live * 2 > cap) cap *= 2;
    this.t = new Float64Array(2 * cap).fill(EMPTY);
    this.mask = cap - 1;
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] >= 0) this.setNumberAt(this.claim(old[i]), old[i + 1]);
  }
}

/** A map from addresses to numbers (sizes, offsets), each number kept beside its key. */
export class NumberMap {
  private readonly table = new PairTable();

  get size(): number {
    return this.table.size;
  }

  get(k: number): number | undefined {
    const i = this.table.find(k);
    return i < 0 ? undefined : this.table.numberAt(i);
  }

  has(k: number): boolean {
    return this.table.find(k) >= 0;
  }

  set(k: number, v: number): this {
    const table = this.table;
    table.setNumberAt(table.claim(k), v);
    table.settle();
    return this;
  }

  delete(k: number): boolean {
    const i = this.table.find(k);
    if (i < 0) return false;
    this.table.removeAt(i);
    return true;
  }

  /** The live entries, in no particular order. */
  entries(): IterableIterator<[number, number]> {
    return this.table.pairs();
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}

/** A map from addresses to anything: the table holds each value's index in a dense array. */
export class AddressMap<V> {
  private readonly table = new PairTable();
  private readonly vals: (V | undefined)[] = [];
  private readonly freeIdx: number[] = [];

  get size(): number {
    return this.table.size;
  }

  get(k: number): V | undefined {
    const i = this.table.find(k);
    return i < 0 ? undefined : this.vals[this.table.numberAt(i)];
  }

  has(k: number): boolean {
    return this.table.find(k) >= 0;
  }

  set(k: number, v: V): this {
    const table = this.table;
    const i = table.claim(k);
    if (table.added) {
      const idx = this.freeIdx.pop() ?? this.vals.length;
      table.setNumberAt(i, idx);
      this.vals[idx] = v;
      table.settle();
    } else this.vals[table.numberAt(i)] = v;
    return this;
  }

  delete(k: number): boolean {
    const i = this.table.find(k);
    if (i < 0) return false;
    const idx = this.table.numberAt(i);
    this.vals[idx] = undefined;
    this.freeIdx.push(idx);
    this.table.removeAt(i);
    return true;
  }

  /** The live entries, in no particular order. */
  *entries(): IterableIterator<[number, V]> {
    for (const [k, idx] of this.table.pairs()) yield [k, this.vals[idx] as V];
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }
}

/** A set of addresses with NumberMap's behaviour under churn. */
export class AddressSet {
  private readonly map = new NumberMap();

  get size(): number {
    return this.map.size;
  }

  has(k: number): boolean {
    return this.map.has(k);
  }

  add(k: number): this {
    this.map.set(k, 1);
    return this;
  }

  delete(k: number): boolean {
    return this.map.delete(k);
  }
}

/** Page-aligned addresses below 2^48: what a PageMap can hold. */
const PAGE = 4096;
const PAGEMAP_LIMIT = 2 ** 48;

/**
 * A map from page-aligned addresses to numbers, as tcmalloc's PageMap: a radix tree over page
 * numbers (a root array, middle arrays of 512, leaves of 512 numbers each covering 2 MiB, and
 * their count), so a lookup is three array loads and no hashing, and neighbouring pages share a
 * leaf. For an allocator whose objects start on pages (one mapping each): on the mmap baseline's
 * 5.78 M recorded operations of python, 150-190 ms against 200-320 for NumberMap. Anything not a
 * page-aligned address below 2^48 is absent.
 */
export class PageMap {
  private readonly root: (Float64Array | undefined)[][] = [];
  size = 0;

  /**
   * The leaf holding page k's number (k checked by the caller), made when `make`. A leaf's slot
   * 512 counts its entries: an emptied leaf goes, so the map's memory follows the live entries.
   */
  private leaf(k: number, make: boolean): Float64Array | undefined {
    const hi = Math.floor(k / (PAGE * 512)); // < 2^27
    let mid = this.root[hi >>> 9];
    if (mid === undefined) {
      if (!make) return undefined;
      mid = this.root[hi >>> 9] = new Array<Float64Array | undefined>(512).fill(undefined);
    }
    let leaf = mid[hi & 511];
    if (leaf === undefined && make) leaf = mid[hi & 511] = new Float64Array(513);
    return leaf;
  }

  /** Drop k's leaf (it has just emptied). */
  private dropLeaf(k: number): void {
    const hi = Math.floor(k / (PAGE * 512));
    this.root[hi >>> 9]![hi & 511] = undefined;
  }

  /** Numbers are stored plus one: 0 in a leaf is no entry. */
  get(k: number): number | undefined {
    if (!(k >= 0 && k < PAGEMAP_LIMIT && k % PAGE === 0)) return undefined;
    const l = this.leaf(k, false);
    const v = l === undefined ? 0 : l[(k / PAGE) & 511];
    return v === 0 ? undefined : v - 1;
  }

  has(k: number): boolean {
    return this.get(k) !== undefined;
  }

  /** Set k's number (a non-negative number; k a page-aligned address below 2^48). */
  set(k: number, v: number): this {
    if (!(k >= 0 && k < PAGEMAP_LIMIT && k % PAGE === 0)) throw new RangeError(`PageMap: ${k} is not a page-aligned address`);
    const l = this.leaf(k, true)!;
    const i = (k / PAGE) & 511;
    if (l[i] === 0) {
      this.size++;
      l[512]++;
    }
    l[i] = v + 1;
    return this;
  }

  /** Remove k and return its number (undefined when absent). */
  take(k: number): number | undefined {
    if (!(k >= 0 && k < PAGEMAP_LIMIT && k % PAGE === 0)) return undefined;
    const l = this.leaf(k, false);
    if (l === undefined) return undefined;
    const i = (k / PAGE) & 511;
    const v = l[i];
    if (v === 0) return undefined;
    l[i] = 0;
    this.size--;
    if (--l[512] === 0) this.dropLeaf(k);
    return v - 1;
  }

  delete(k: number): boolean {
    return this.take(k) !== undefined;
  }

  /** Leaves held (tests: an emptied one is let go). */
  get leaves(): number {
    let n = 0;
    for (const mid of this.root) if (mid) for (const l of mid) if (l) n++;
    return n;
  }

  /** The live entries, in address order. */
  *entries(): IterableIterator<[number, number]> {
    for (let r = 0; r < this.root.length; r++) {
      const mid = this.root[r];
      if (mid === undefined) continue;
      for (let m = 0; m < 512; m++) {
        const l = mid[m];
        if (l === undefined) continue;
        for (let i = 0; i < 512; i++) if (l[i] !== 0) yield [((r * 512 + m) * 512 + i) * PAGE, l[i] - 1];
      }
    }
  }
}
