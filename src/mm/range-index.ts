// A radix tree over page numbers that answers "which range holds this address?" in a fixed
// number of steps, however many ranges there are. The VMA tree (vma-tree.ts) keeps it beside its
// B+tree once there are many VMAs (INDEX_FROM), so find() costs the same at 100 VMAs as at
// 65,000: a comparison search needs log2(65,000) / log2(100) = 2.4 times the comparisons, and its
// cache misses grow with the tree, while this walk reads at most six 64-entry nodes whatever the
// count.
//
// Layout: nodes of 64 Int32 slots in one pool. A slot holds 0 (nothing there), a positive
// child node number, or -(id + 1): the whole span under that slot belongs to range `id`. A range
// is written as the few whole slots that tile it (at most 2 x 63 per level), so a 1 TiB VMA
// costs a handful of nodes, and nodes whose slots all agree are folded back into their parent.

const BITS = 6;
const FAN = 1 << BITS;
const LEVELS = 6; // 36 bits of page number: 2^48 bytes of address space
import { PAGE_SIZE as PAGE } from './uapi.js';
const TOP_SPAN = 2 ** (BITS * (LEVELS - 1)); // pages under one root slot

/** What the index records: a value that carries its own id slot (no Map lookup on the hot path). */
export interface Indexed {
  /** The index's id for this value, -1 while it holds no range (only RangeIndex writes it). */
  rangeId: number;
}

export class RangeIndex<V extends Indexed> {
  private slots = new Int32Array(FAN * 16);
  private cap = 16;
  private used = 1; // node 0 is the root; a child number is never 0
  private readonly freeNodes: number[] = [];
  private readonly byId: (V | undefined)[] = [];
  private readonly freeIds: number[] = [];

  /** The value whose range holds addr, or undefined. */
  find(addr: number): V | undefined {
    if (!(addr >= 0 && addr < 2 ** 48)) return undefined;
    const pn = Math.floor(addr / PAGE);
    const slots = this.slots;
    let node = 0;
    let span = TOP_SPAN;
    for (;;) {
      // `& 63` keeps the low bits of the quotient even past 2^32 (ToInt32 wraps modulo 2^32)
      const e = slots[node * FAN + ((pn / span) & (FAN - 1))];
      if (e > 0) {
        node = e;
        span /= FAN;
      } else return e === 0 ? undefined : this.byId[-e - 1];
    }
  }

  /** Record [start, end) as v's (page-aligned; the range must hold nothing else of v's). */
  add(v: V, start: number, end: number): void {
    let id = v.rangeId;
    if (id < 0) {
      id = v.rangeId = this.freeIds.pop() ?? this.byId.length;
      this.byId[id] = v;
    }
    this.assign(start / PAGE, end / PAGE, -(id + 1));
  }

  /**
   * Forget [start, end) where it is still v's, and v itself when `last` (its last range is gone).
   * Only v's slots are cleared: a neighbour that has already grown over the range (a merge moves
   * the boundary before the merged VMA is removed) keeps what it wrote.
   */
  clear(v: V, start: number, end: number, last = false): void {
    const id = v.rangeId;
    if (id < 0) return;
    this.assign(start / PAGE, end / PAGE, 0, -(id + 1));
    if (last) this.forget(v);
  }

  /**
   * Give v's id, and so every slot it holds, to w (which has none): a VMA split keeps the larger
   * part's slots as they are and writes only the smaller part.
   */
  rename(v: V, w: V): void {
    const id = v.rangeId;
    if (id < 0) return;
    v.rangeId = -1;
    w.rangeId = id;
    this.byId[id] = w;
  }

  /** Forget v, whose every slot a later add has overwritten (a VMA a neighbour grew over). */
  forget(v: V): void {
    const id = v.rangeId;
    if (id < 0) return;
    v.rangeId = -1;
    this.byId[id] = undefined;
    this.freeIds.push(id);
  }

  /** Set pages [sp, ep) to code, or only those holding `only` when it is given. */
  private assign(sp: number, ep: number, code: number, only?: number): void {
    if (ep - sp < FAN && Math.floor(sp / FAN) === Math.floor((ep - 1) / FAN)) this.assignSmall(sp, ep, code, only);
    else if (ep > sp) this.assignIn(0, 0, TOP_SPAN, sp, ep, code, only);
  }

  /** The nodes and slots a small assignment passed through, root first. */
  private readonly path = new Int32Array(LEVELS);

  /**
   * assign() of fewer than 64 pages inside one last-level node (most VMA changes of a
   * small-object heap): one walk down and back, no recursion.
   */
  private assignSmall(sp: number, ep: number, code: number, only?: number): void {
    let node = 0;
    let span = TOP_SPAN;
    let depth = 0;
    for (;;) {
      const at = node * FAN + ((sp / span) & (FAN - 1));
      const e = this.slots[at];
      if (span === 1) {
        // the last level: one slot per page
        for (let i = at, n = at + ep - sp; i < n; i++) {
          const x = this.slots[i];
          if (x !== code && (only === undefined || x === only)) this.slots[i] = code;
        }
        break;
      }
      // a whole slot above the last level holds the range: done if it needs no change, else it
      // gets a child holding its old value everywhere
      if (e <= 0 && (e === code || (only !== undefined && e !== only))) return;
      this.path[depth++] = at;
      node = e > 0 ? e : this.newNode(e);
      this.slots[at] = node;
      span /= FAN;
    }
    // fold back every node the write made uniform, from the deepest up
    while (depth > 0) {
      const at = this.path[--depth];
      const child = this.slots[at];
      const same = this.uniform(child, code);
      if (same === null) return;
      this.release(child);
      this.slots[at] = same;
    }
  }

  /** assign() under node, whose first page is base and whose slots each span `span` pages. */
  private assignIn(node: number, base: number, span: number, sp: number, ep: number, code: number, only?: number): void {
    const first = Math.max(0, Math.floor((sp - base) / span));
    const last = Math.min(FAN - 1, Math.floor((ep - 1 - base) / span));
    for (let i = first; i <= last; i++) {
      const at = node * FAN + i;
      const lo = base + i * span;
      const e = this.slots[at];
      const whole = sp <= lo && lo + span <= ep;
      if (e <= 0) {
        if (e === code || (only !== undefined && e !== only)) continue;
        if (whole) {
          this.slots[at] = code;
          continue;
        }
      } else if (whole && only === undefined) {
        this.freeTree(e);
        this.slots[at] = code;
        continue;
      }
      // part of the slot changes (or a child must be searched for `only`): work one level down,
      // giving a whole slot a child that holds its old value everywhere
      const child = e > 0 ? e : this.newNode(e);
      this.slots[at] = child;
      this.assignIn(child, lo, span / FAN, sp, ep, code, only);
      const same = this.uniform(child, code);
      if (same !== null) {
        this.release(child);
        this.slots[at] = same;
      }
    }
  }

  /** The value all of node's slots hold, when none is a child and all agree; else null. */
  private uniform(node: number, code: number): number | null {
    const s = this.slots;
    const v = s[node * FAN];
    if (v > 0) return null;
    // only a write of `code` can have made the node uniform, and it reaches one end or the other
    if (v !== code && s[node * FAN + FAN - 1] !== code) return null;
    for (let i = 1; i < FAN; i++) if (s[node * FAN + i] !== v) return null;
    return v;
  }

  private newNode(fill: number): number {
    let n = this.freeNodes.pop();
    if (n === undefined) {
      if (this.used === this.cap) {
        const grown = new Int32Array(this.cap * 2 * FAN);
        grown.set(this.slots);
        this.slots = grown;
        this.cap *= 2;
      }
      n = this.used++;
    }
    this.slots.fill(fill, n * FAN, (n + 1) * FAN);
    return n;
  }

  private release(node: number): void {
    this.freeNodes.push(node);
  }

  private freeTree(node: number): void {
    for (let i = 0; i < FAN; i++) {
      const e = this.slots[node * FAN + i];
      if (e > 0) this.freeTree(e);
    }
    this.release(node);
  }

  /** Nodes in use (for tests and memory figures). */
  get nodeCount(): number {
    return this.used - 1 - this.freeNodes.length;
  }
}
