// A B+tree keyed by numbers (addresses), laid out in a few large typed arrays (node n's slots
// are [n * SLOTS, n * SLOTS + count)), so a lookup is a handful of binary searches over
// contiguous memory rather than a chase through objects. Leaves also hold one number beside
// each key (`aux`: a VMA's end, a gap's start), so a range check needs no value at all, as the
// maple tree's pivots do. A leaf's values live in a side array, its slots holding their index
// (in `kids`, which only inner nodes need otherwise): shifting a leaf moves numbers only, with
// none of the write barriers that moving object references costs, and leaves and inner nodes
// shift alike. Deletion never rebalances: a node may run underfull, which costs no more than the
// height the tree reached while it was fullest.

const FANOUT = 48;
const SLOTS = FANOUT + 1;
const NONE = -1;

export class NumberBTree<V> {
  private cap = 16;
  private keys = new Float64Array(this.cap * SLOTS);
  private aux = new Float64Array(this.cap * SLOTS);
  private kids = new Int32Array(this.cap * SLOTS);
  private count = new Int32Array(this.cap);
  private isLeaf = new Uint8Array(this.cap);
  private prevLeaf = new Int32Array(this.cap);
  private nextLeaf = new Int32Array(this.cap);
  /** Leaf values, by the index a leaf slot's `kids` entry holds; freeVals lists unused indices. */
  private readonly vals: (V | undefined)[] = [];
  private readonly freeVals: number[] = [];
  private freeNodes: number[] = [];
  private used = 0;
  private root: number;
  private head: number;
  private tail: number;
  size = 0;

  constructor() {
    // V8 compiles a field that was never reassigned as a constant: the first grow() of any tree,
    // or the first root split, would then deoptimize every function using one (code
    // dependencies), in the middle of a run. Given a second value here, before anything is
    // optimized, these are plain fields from the start.
    this.cap = 8;
    this.resize(16);
    this.root = this.head = this.tail = NONE;
    this.root = this.head = this.tail = this.newNode(true);
  }

  private newNode(leaf: boolean): number {
    let id = this.freeNodes.pop();
    if (id === undefined) {
      if (this.used === this.cap) this.grow();
      id = this.used++;
    }
    this.count[id] = 0;
    this.isLeaf[id] = leaf ? 1 : 0;
    this.prevLeaf[id] = this.nextLeaf[id] = NONE;
    return id;
  }

  private grow(): void {
    this.resize(this.cap * 2);
  }

  /** Copy the node arrays into new ones of cap nodes (at least the nodes in use). */
  private resize(cap: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap * SLOTS);
      b.set(a);
      return b;
    };
    this.keys = f64(this.keys);
    this.aux = f64(this.aux);
    const kids = new Int32Array(cap * SLOTS);
    kids.set(this.kids);
    this.kids = kids;
    for (const name of ['count', 'prevLeaf', 'nextLeaf'] as const) {
      const b = new Int32Array(cap);
      b.set(this[name]);
      this[name] = b;
    }
    const leaf = new Uint8Array(cap);
    leaf.set(this.isLeaf);
    this.isLeaf = leaf;
    this.cap = cap;
  }

  /** Index (within node) of the last key <= k, or -1. */
  private floorIn(node: number, k: number): number {
    const keys = this.keys;
    const base = node * SLOTS;
    let lo = 0;
    let hi = this.count[node];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[base + mid] <= k) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private leafFor(k: number): number {
    let node = this.root;
    while (!this.isLeaf[node]) {
      const i = this.floorIn(node, k);
      node = this.kids[node * SLOTS + (i < 0 ? 0 : i)];
    }
    return node;
  }

  /** The slot of the greatest key <= k, or -1. Read it with keyAt/valAt/auxAt. */
  floorSlot(k: number): number {
    let leaf = this.leafFor(k);
    let i = this.floorIn(leaf, k);
    while (i < 0) {
      leaf = this.prevLeaf[leaf];
      if (leaf === NONE) return NONE;
      i = this.count[leaf] - 1;
    }
    return leaf * SLOTS + i;
  }

  /** The slot of the smallest key > k, or -1. */
  higherSlot(k: number): number {
    let leaf = this.leafFor(k);
    let i = this.floorIn(leaf, k) + 1;
    while (i >= this.count[leaf]) {
      leaf = this.nextLeaf[leaf];
      if (leaf === NONE) return NONE;
      i = 0;
    }
    return leaf * SLOTS + i;
  }

  /** The slot of the greatest key < k, or -1. */
  lowerSlot(k: number): number {
    let leaf = this.leafFor(k);
    let i = this.floorIn(leaf, k);
    if (i >= 0 && this.keys[leaf * SLOTS + i] === k) i--;
    while (i < 0) {
      leaf = this.prevLeaf[leaf];
      if (leaf === NONE) return NONE;
      i = this.count[leaf] - 1;
    }
    return leaf * SLOTS + i;
  }

  keyAt(slot: number): number {
    return this.keys[slot];
  }

  valAt(slot: number): V {
    return this.vals[this.kids[slot]] as V;
  }

  private newVal(v: V | undefined): number {
    const id = this.freeVals.pop();
    if (id === undefined) return this.vals.push(v) - 1;
    this.vals[id] = v;
    return id;
  }

  auxAt(slot: number): number {
    return this.aux[slot];
  }

  get(k: number): V | undefined {
    const s = this.floorSlot(k);
    return s >= 0 && this.keys[s] === k ? this.valAt(s) : undefined;
  }

  floor(k: number): V | undefined {
    const s = this.floorSlot(k);
    return s < 0 ? undefined : this.valAt(s);
  }

  lower(k: number): V | undefined {
    const s = this.lowerSlot(k);
    return s < 0 ? undefined : this.valAt(s);
  }

  higher(k: number): V | undefined {
    const s = this.higherSlot(k);
    return s < 0 ? undefined : this.valAt(s);
  }

  /** Change the aux number of an existing key. */
  setAux(k: number, aux: number): void {
    const s = this.floorSlot(k);
    if (s >= 0 && this.keys[s] === k) this.aux[s] = aux;
  }

  /** The nodes and slots a set or delete passed through, root first (reused: no garbage per call). */
  private path = new Int32Array(64);
  private depth = 0;

  private pushPath(node: number, i: number): void {
    if (this.depth + 2 > this.path.length) {
      const p = new Int32Array(this.path.length * 2);
      p.set(this.path);
      this.path = p;
    }
    this.path[this.depth++] = node;
    this.path[this.depth++] = i;
  }

  set(k: number, v: V, aux = 0): void {
    this.depth = 0;
    let node = this.root;
    while (!this.isLeaf[node]) {
      let i = this.floorIn(node, k);
      if (i < 0) {
        i = 0;
        this.keys[node * SLOTS] = k; // the new key becomes this subtree's minimum
      }
      this.pushPath(node, i);
      node = this.kids[node * SLOTS + i];
    }
    const i = this.floorIn(node, k);
    const base = node * SLOTS;
    if (i >= 0 && this.keys[base + i] === k) {
      this.vals[this.kids[base + i]] = v;
      this.aux[base + i] = aux;
      return;
    }
    this.insertAt(node, i + 1, k, aux, v, 0);
    this.size++;
    // inserting at a node's end (addresses handed out in order) splits off just the new entry,
    // so nodes filled in order stay full rather than half full
    let appended = i + 1 === this.count[node] - 1;
    // split overfull nodes bottom-up
    while (this.count[node] > FANOUT) {
      const right = this.split(node, appended);
      appended = false;
      const rightMin = this.keys[right * SLOTS];
      if (this.depth === 0) {
        const root = this.newNode(false);
        this.insertAt(root, 0, this.keys[node * SLOTS], 0, undefined, node);
        this.insertAt(root, 1, rightMin, 0, undefined, right);
        this.root = root;
        return;
      }
      const at = this.path[--this.depth] + 1;
      const parent = this.path[--this.depth];
      this.insertAt(parent, at, rightMin, 0, undefined, right);
      node = parent;
    }
  }

  /**
   * Give the entry at key `from` the smaller key `to`, in place: no key may lie in [to, from)
   * (the entry keeps its place in the order). Separators above it that were larger than `to`
   * become `to`, so every search still finds it. Returns the entry's slot, or -1 when `from` was
   * not there.
   */
  moveKeyDown(from: number, to: number): number {
    const slot = this.exactSlotWithPath(from);
    if (slot < 0) return NONE;
    this.keys[slot] = to;
    for (let d = this.depth; d > 0; d -= 2) {
      const at = this.path[d - 2] * SLOTS + this.path[d - 1];
      if (this.keys[at] > to) this.keys[at] = to;
    }
    return slot;
  }

  /**
   * moveKeyDown for the entry in a slot known to hold it (from a walk since which nothing
   * changed, or checked with holds()): an entry that is not its leaf's first is no subtree's
   * minimum, so no separator names it and the key changes where it is. Returns the slot.
   */
  moveKeyDownAt(slot: number, to: number): number {
    if (slot % SLOTS === 0) return this.moveKeyDown(this.keys[slot], to);
    this.keys[slot] = to;
    return slot;
  }

  /**
   * Give the entry at key `from` the larger key `to`, in place: no key may lie in (from, to].
   * A separator to the right of the path that is not above `to` — a stale one: a delete leaves
   * a subtree's separator at its old minimum — would send searches for `to` the wrong way, so the
   * lowest level with a right neighbour has that neighbour's separator set to its true minimum
   * (every separator further up and right is above that minimum already). Returns the entry's
   * slot, or -1 when `from` was not there.
   */
  moveKeyUp(from: number, to: number): number {
    const slot = this.exactSlotWithPath(from);
    if (slot < 0) return NONE;
    this.keys[slot] = to;
    for (let d = this.depth; d > 0; d -= 2) {
      const node = this.path[d - 2];
      const i = this.path[d - 1];
      if (i + 1 < this.count[node]) {
        const at = node * SLOTS + i + 1;
        if (this.keys[at] <= to) this.keys[at] = this.minOf(this.kids[at]);
        break;
      }
    }
    return slot;
  }

  /**
   * moveKeyUp for the entry in a slot known to hold it: an entry that is not its leaf's last has
   * a larger key beside it, which every separator to the right is above already (keys left of a
   * separator are below it), so the key changes where it is. Returns the slot.
   */
  moveKeyUpAt(slot: number, to: number): number {
    const node = Math.floor(slot / SLOTS);
    if (slot - node * SLOTS === this.count[node] - 1) return this.moveKeyUp(this.keys[slot], to);
    this.keys[slot] = to;
    return slot;
  }

  /**
   * Whether a slot remembered from an earlier call still holds key k with value v (entries move
   * as others come and go beside them; a slot past its leaf's count may hold a stale copy).
   */
  holds(slot: number, k: number, v: V): boolean {
    if (slot < 0) return false;
    const node = Math.floor(slot / SLOTS);
    return node < this.used && this.isLeaf[node] === 1 && slot - node * SLOTS < this.count[node] && this.keys[slot] === k && this.vals[this.kids[slot]] === v;
  }

  /**
   * Add key k with value v right after the entry in `slot` (k must lie between that entry's key
   * and the next): where the leaf has room and the entry is not its last, without a search (k is
   * no subtree's minimum, and a larger key of the same leaf keeps every separator to the right
   * above it); else as set() does. Returns the new entry's slot, or -1 when set() placed it.
   */
  insertAfter(slot: number, k: number, v: V, aux = 0): number {
    const node = Math.floor(slot / SLOTS);
    if (this.count[node] >= FANOUT || slot - node * SLOTS === this.count[node] - 1) {
      this.set(k, v, aux);
      return NONE;
    }
    const at = slot - node * SLOTS + 1;
    this.insertAt(node, at, k, aux, v, 0);
    this.size++;
    return slot + 1;
  }

  /**
   * Delete the entry in `slot` (known to hold it): where the leaf keeps other entries, without a
   * search (a leaf whose first key goes keeps its separator: a stale minimum is below the new
   * one, which every search tolerates); else as delete() does.
   */
  deleteAt(slot: number): void {
    const node = Math.floor(slot / SLOTS);
    if (this.count[node] > 1) {
      this.removeAt(node, slot - node * SLOTS);
      this.size--;
    } else this.delete(this.keys[slot]);
  }

  /** The smallest key under a node (nodes other than the root are never empty). */
  private minOf(node: number): number {
    while (!this.isLeaf[node]) node = this.kids[node * SLOTS];
    return this.keys[node * SLOTS];
  }

  private insertAt(node: number, at: number, k: number, aux: number, v: V | undefined, kid: number): void {
    const base = node * SLOTS;
    const end = base + this.count[node];
    const { keys, aux: auxes, kids } = this;
    // shifts of a few dozen entries: plain loops beat copyWithin's call (an inner node's aux is
    // unused, and shifted with the rest)
    for (let j = end; j > base + at; j--) {
      keys[j] = keys[j - 1];
      auxes[j] = auxes[j - 1];
      kids[j] = kids[j - 1];
    }
    keys[base + at] = k;
    auxes[base + at] = aux;
    kids[base + at] = this.isLeaf[node] ? this.newVal(v) : kid;
    this.count[node]++;
  }

  private split(node: number, appended = false): number {
    const leaf = this.isLeaf[node] === 1;
    const right = this.newNode(leaf);
    const n = this.count[node];
    const half = appended ? n - 1 : n >> 1;
    const from = node * SLOTS + half;
    const to = right * SLOTS;
    this.keys.copyWithin(to, from, node * SLOTS + n);
    this.aux.copyWithin(to, from, node * SLOTS + n);
    this.kids.copyWithin(to, from, node * SLOTS + n);
    if (leaf) {
      const next = this.nextLeaf[node];
      this.nextLeaf[right] = next;
      this.prevLeaf[right] = node;
      if (next !== NONE) this.prevLeaf[next] = right;
      else this.tail = right;
      this.nextLeaf[node] = right;
    }
    this.count[right] = n - half;
    this.count[node] = half;
    return right;
  }

  /** The slot holding key k, or -1; the path down to its leaf is left in `path` (delete, moveKeyDown). */
  private exactSlotWithPath(k: number): number {
    this.depth = 0;
    let node = this.root;
    while (!this.isLeaf[node]) {
      const i = Math.max(0, this.floorIn(node, k));
      this.pushPath(node, i);
      node = this.kids[node * SLOTS + i];
    }
    const i = this.floorIn(node, k);
    return i >= 0 && this.keys[node * SLOTS + i] === k ? node * SLOTS + i : NONE;
  }

  delete(k: number): boolean {
    const slot = this.exactSlotWithPath(k);
    if (slot < 0) return false;
    let node = Math.floor(slot / SLOTS);
    this.removeAt(node, slot - node * SLOTS);
    this.size--;
    // remove emptied nodes upwards; the root stays
    while (this.count[node] === 0 && this.depth > 0) {
      if (this.isLeaf[node]) {
        const p = this.prevLeaf[node];
        const n = this.nextLeaf[node];
        if (p !== NONE) this.nextLeaf[p] = n;
        else this.head = n;
        if (n !== NONE) this.prevLeaf[n] = p;
        else this.tail = p;
      }
      this.freeNodes.push(node);
      const at = this.path[--this.depth];
      node = this.path[--this.depth];
      this.removeAt(node, at);
    }
    while (!this.isLeaf[this.root] && this.count[this.root] === 1) {
      this.freeNodes.push(this.root);
      this.root = this.kids[this.root * SLOTS];
    }
    return true;
  }

  private removeAt(node: number, at: number): void {
    const base = node * SLOTS;
    const end = base + this.count[node];
    const { keys, aux, kids } = this;
    if (this.isLeaf[node]) {
      const id = kids[base + at];
      this.vals[id] = undefined;
      this.freeVals.push(id);
    }
    for (let j = base + at; j < end - 1; j++) {
      keys[j] = keys[j + 1];
      aux[j] = aux[j + 1];
      kids[j] = kids[j + 1];
    }
    this.count[node]--;
  }

  /** The slot of the highest key, or -1 when empty; walk down with prevSlot. */
  lastSlot(): number {
    for (let leaf = this.tail; leaf !== NONE; leaf = this.prevLeaf[leaf]) if (this.count[leaf] > 0) return leaf * SLOTS + this.count[leaf] - 1;
    return NONE;
  }

  /** The slot of the key before the one in slot, or -1. */
  prevSlot(slot: number): number {
    let leaf = Math.floor(slot / SLOTS);
    if (slot > leaf * SLOTS) return slot - 1;
    for (leaf = this.prevLeaf[leaf]; leaf !== NONE; leaf = this.prevLeaf[leaf]) if (this.count[leaf] > 0) return leaf * SLOTS + this.count[leaf] - 1;
    return NONE;
  }

  *entries(): IterableIterator<[number, V, number]> {
    for (let leaf = this.head; leaf !== NONE; leaf = this.nextLeaf[leaf]) {
      for (let i = 0; i < this.count[leaf]; i++) {
        const s = leaf * SLOTS + i;
        yield [this.keys[s], this.valAt(s), this.aux[s]];
      }
    }
  }
}
