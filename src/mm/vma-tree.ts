// The ordered index of an mm's VMAs (the kernel's maple tree): ordered queries through a
// B+tree keyed by vm_start (btree.ts), a linked list for neighbours, and a radix index of
// address ranges (range-index.ts) for find(), whose cost does not grow with the VMA count.
import { NumberBTree } from './btree.js';
import { RangeIndex } from './range-index.js';
import type { Vma } from './vma.js';

/**
 * The VMA count from which find() goes through the radix index, and the count under which it
 * stops. Measured: with the vmacache answering most finds, a B+tree floor is cheaper overall than
 * keeping the index up to date on every VMA change up to tens of thousands of VMAs (python x mmap,
 * 19k VMAs at peak: 0.91x of its time with the index from 2,048, tools/ab-replay); at 65,000 the
 * index keeps find_vma within 2x of its time at 100 VMAs (bench/mm.bench.ts), which the B+tree's
 * deeper descent does not.
 */
export const INDEX_FROM = 32768;
export const INDEX_UNTIL = 16384;

/** The end of the address space the gap index covers. */
const TOP = 2 ** 48;

export class VmaTree {
  private readonly tree = new NumberBTree<Vma>();
  /**
   * The radix index of VMA ranges, kept only while there are many VMAs (from INDEX_FROM until the
   * count falls under INDEX_UNTIL): below that a B+tree search is as quick as the radix walk, and
   * keeping the index costs every VMA change far more than it saves.
   */
  private index: RangeIndex<Vma> | null = null;
  /**
   * Free gaps between VMAs, keyed by the gap's end (the next VMA's start, or TOP), holding the VMA
   * above (null for the top gap) and the gap's start as aux: the kernel's maple tree tracks gaps
   * so get_unmapped_area need not walk every VMA. Every change of a VMA's bounds goes through
   * insert/remove/setStart/setEnd to keep it true.
   */
  private readonly gaps = new NumberBTree<Vma | null>();
  /**
   * What the last gap search found: the address it returned and the VMA above that gap, so the
   * mmap that asked places its VMA without searching the tree again. Any change forgets it.
   */
  private gapAt = -1;
  private gapNext: Vma | null = null;

  constructor() {
    this.gaps.set(TOP, null, 0);
  }

  /** Told of every VMA whose bounds change (vma_start_write: that VMA's lock is taken). */
  onChange: ((start: number, end: number) => void) | null = null;

  /** Record the gap [start, end) below `above` (none when empty). */
  private setGap(end: number, start: number, above: Vma | null): void {
    if (end > start) this.gaps.set(end, above, start);
    else this.gaps.delete(end);
  }
  private head: Vma | null = null;
  private tail: Vma | null = null;

  get count(): number {
    return this.tree.size;
  }

  first(): Vma | null {
    return this.head;
  }

  last(): Vma | null {
    return this.tail;
  }

  /**
   * The VMA last found, made or resized (the kernel's per-thread vmacache, gone since the maple
   * tree, played the same part): a fault right after the mmap that made its VMA, or the next page
   * of one fill, finds it without a search. Its bounds are read live, so it answers only for the
   * addresses it covers now; it is forgotten when it leaves the tree.
   */
  private recent: Vma | null = null;

  /** The VMA containing addr, or null. */
  find(addr: number): Vma | null {
    const r = this.recent;
    if (r !== null && addr >= r.start && addr < r.end) return r;
    // the index answers without reading the VMA, and is not made to remember it either: among
    // tens of thousands of VMAs, reading a random one's bounds is a cache miss the lookup avoids
    if (this.index) return this.index.find(addr) ?? null;
    const s = this.tree.floorSlot(addr);
    if (s < 0) return null;
    const f = this.tree.valAt(s);
    if (f.end <= addr) return null;
    f.treeSlot = s;
    this.recent = f;
    return f;
  }

  /** find_vma: the first VMA whose end is above addr (it may start above addr). */
  findFrom(addr: number): Vma | null {
    const r = this.recent;
    if (r !== null && addr >= r.start && addr < r.end) return r;
    // one descent: the VMA starting at or below addr, else the next one in the list
    const s = this.tree.floorSlot(addr);
    if (s < 0) return this.head;
    const v = this.tree.valAt(s);
    v.treeSlot = s;
    if (v.end > addr) {
      this.recent = v;
      return v;
    }
    return v.next;
  }

  /** The last VMA starting below addr (find_vma_prev's prev for an address in a gap). */
  findBefore(addr: number): Vma | null {
    return this.tree.lower(addr) ?? null;
  }

  /**
   * The first VMA at or above addr, an address in a gap (find_vma of a free address): from the
   * last gap search when it returned addr, else from the tree.
   */
  nextAbove(addr: number): Vma | null {
    return addr === this.gapAt ? this.gapNext : this.findFrom(addr);
  }

  /** Insert a VMA that overlaps no other. */
  insert(v: Vma): void {
    this.index?.add(v, v.start, v.end);
    this.link(v);
    if (!this.index && this.count >= INDEX_FROM) this.buildIndex();
  }

  /** Put v in the tree, the list and the gaps (the index is the caller's). */
  private link(v: Vma): void {
    const next = this.nextAbove(v.start);
    const prev = next ? next.prev : this.tail;
    this.gapAt = -1;
    v.prev = prev;
    v.next = next;
    if (prev) prev.next = v;
    else this.head = v;
    if (next) next.prev = v;
    else this.tail = v;
    this.tree.set(v.start, v);
    this.recent = v;
    this.onChange?.(v.start, v.end);
    this.setGap(v.start, prev ? prev.end : 0, v);
    this.setGap(next ? next.start : TOP, v.end, next);
  }

  remove(v: Vma): void {
    this.index?.clear(v, v.start, v.end, true);
    this.unlink(v);
    if (this.index && this.count < INDEX_UNTIL) this.dropIndex();
  }

  /**
   * Remove a VMA whose whole range a neighbour has already grown over (a merge): the index holds
   * the neighbour there, so nothing of v is left to clear in it.
   */
  removeAbsorbed(v: Vma): void {
    this.index?.forget(v);
    this.unlink(v);
    if (this.index && this.count < INDEX_UNTIL) this.dropIndex();
  }

  /**
   * __split_vma's update: v now ends where hi, its upper part, begins, and hi goes in. The
   * index is written once, by hi over v's old slots, rather than cleared and written again.
   */
  split(v: Vma, hi: Vma): void {
    this.gapAt = -1;
    this.onChange?.(v.start, v.end);
    const lowerSmaller = hi.start - v.start < v.end - hi.start;
    // the index is written for the smaller part only: the larger keeps the slots it has
    const index = this.index;
    if (index && lowerSmaller) index.rename(v, hi);
    v.end = hi.start;
    if (index && lowerSmaller) index.add(v, v.start, v.end);
    else index?.add(hi, hi.start, hi.end);
    this.linkAfter(v, hi);
    if (!index && this.count >= INDEX_FROM) this.buildIndex();
  }

  /**
   * munmap of a hole inside v (what two __split_vma calls and a removal leave): v now ends at
   * start, and hi, cloned from v for [end, v's old end), goes in after it. The index is written
   * for the smaller side, as split() does.
   */
  punchHole(v: Vma, start: number, hi: Vma): void {
    const end = hi.start;
    this.gapAt = -1;
    this.onChange?.(v.start, v.end);
    const index = this.index;
    if (index && v.end - end > start - v.start) {
      index.rename(v, hi);
      index.add(v, v.start, start);
      index.clear(hi, start, end);
    } else if (index) {
      index.clear(v, start, v.end);
      index.add(hi, end, hi.end);
    }
    v.end = start;
    this.linkAfter(v, hi);
    // the hole's entry goes right after the gap below v, where v has one (no VMA starts between)
    const g = this.gapSlotOf(v);
    if (g >= 0) hi.gapSlot = this.gaps.insertAfter(g, end, hi, start);
    else this.gaps.set(end, hi, start);
    if (!index && this.count >= INDEX_FROM) this.buildIndex();
  }

  /**
   * vma_merge_new_range's "both" case: prev grows to next's end and next goes. The index is
   * written for the smaller side: prev's old range (and the new range between) under next's
   * slots, renamed, when next is the larger; else the new range and next's under prev's.
   */
  mergeNext(prev: Vma, next: Vma): void {
    const end = next.end;
    this.gapAt = -1;
    this.onChange?.(prev.start, end);
    const index = this.index;
    if (index && next.end - next.start > prev.end - prev.start) {
      index.forget(prev); // its slots are all written again just below, before any other add
      index.rename(next, prev);
      index.add(prev, prev.start, next.start);
    } else if (index) {
      index.add(prev, prev.end, end);
      index.forget(next);
    }
    // the gap above next (if any) starts at next's end, where prev now ends: it stays as it is
    this.unlink(next, false);
    if (index && this.count < INDEX_UNTIL) this.dropIndex();
    prev.end = end;
  }

  private buildIndex(): void {
    const index = (this.index = new RangeIndex<Vma>());
    for (let v = this.head; v; v = v.next) index.add(v, v.start, v.end);
  }

  private dropIndex(): void {
    this.index = null;
    for (let v = this.head; v; v = v.next) v.rangeId = -1;
  }

  /**
   * Put hi in the tree and the list right after v, which it was part of: the memory covered is
   * the same, so no gap changes.
   */
  private linkAfter(v: Vma, hi: Vma): void {
    const next = v.next;
    hi.prev = v;
    hi.next = next;
    v.next = hi;
    if (next) next.prev = hi;
    else this.tail = hi;
    // right after v in the tree: without a search where v's slot is known and its leaf has room
    const s = this.slotOf(v);
    if (s >= 0) hi.treeSlot = this.tree.insertAfter(s, hi.start, hi);
    else this.tree.set(hi.start, hi);
    this.onChange?.(hi.start, hi.end);
  }

  /** Take v out of the tree and the list; the gap above it then reaches down to v's predecessor, unless a merge keeps it (gapAbove false). */
  private unlink(v: Vma, gapAbove = true): void {
    this.gapAt = -1;
    if (this.recent === v) this.recent = null;
    this.onChange?.(v.start, v.end);
    const s = this.slotOf(v);
    if (s >= 0) this.tree.deleteAt(s);
    else this.tree.delete(v.start);
    // a gap ends at v's start only when something free lies right below it
    if ((v.prev ? v.prev.end : 0) < v.start) this.deleteGapBelow(v);
    if (gapAbove) this.setGap(v.next ? v.next.start : TOP, v.prev ? v.prev.end : 0, v.next);
    if (v.prev) v.prev.next = v.next;
    else this.head = v.next;
    if (v.next) v.next.prev = v.prev;
    else this.tail = v.prev;
    v.prev = v.next = null;
  }

  /** v's gap entry's slot in `gaps` (keyed by v's start), where its hint is still good; else -1. */
  private gapSlotOf(v: Vma): number {
    return this.gaps.holds(v.gapSlot, v.start, v) ? v.gapSlot : -1;
  }

  private deleteGapBelow(v: Vma): void {
    const g = this.gapSlotOf(v);
    if (g >= 0) this.gaps.deleteAt(g);
    else this.gaps.delete(v.start);
  }

  /** v's slot in the B+tree, where the hint it carries is still good; else -1. */
  private slotOf(v: Vma): number {
    return this.tree.holds(v.treeSlot, v.start, v) ? v.treeSlot : -1;
  }

  /** Change a VMA's start (its key) in place; its order among the others must not change. */
  setStart(v: Vma, start: number): void {
    if (v.start === start) return;
    this.recent = v;
    this.gapAt = -1;
    this.onChange?.(Math.min(start, v.start), v.end);
    const below = v.prev ? v.prev.end : 0;
    if (start < v.start) {
      // growing down (a top-down mmap beside v): both keys move down in place
      this.index?.add(v, start, v.start);
      const s = this.slotOf(v);
      v.treeSlot = s >= 0 ? this.tree.moveKeyDownAt(s, start) : this.tree.moveKeyDown(v.start, start);
      if (start <= below) this.deleteGapBelow(v);
      else {
        // (an mmap's gap search left the slot of the gap it found with the VMA above it)
        const g = this.gapSlotOf(v);
        v.gapSlot = g >= 0 ? this.gaps.moveKeyDownAt(g, start) : this.gaps.moveKeyDown(v.start, start);
      }
      v.start = start;
      return;
    }
    // shrinking from below: both keys move up in place (no VMA starts inside v)
    this.index?.clear(v, v.start, start);
    const s = this.slotOf(v);
    v.treeSlot = s >= 0 ? this.tree.moveKeyUpAt(s, start) : this.tree.moveKeyUp(v.start, start);
    if (below < v.start) {
      const g = this.gapSlotOf(v);
      v.gapSlot = g >= 0 ? this.gaps.moveKeyUpAt(g, start) : this.gaps.moveKeyUp(v.start, start);
    } else if (below < start) this.gaps.set(start, v, below); // (a merge may have grown prev to start already)
    v.start = start;
  }

  /** Change a VMA's end in place; it must not overlap the next VMA. */
  setEnd(v: Vma, end: number): void {
    this.gapAt = -1;
    this.recent = v;
    this.onChange?.(v.start, Math.max(end, v.end));
    if (end > v.end) this.index?.add(v, v.end, end);
    else this.index?.clear(v, end, v.end);
    v.end = end;
    this.setGap(v.next ? v.next.start : TOP, end, v.next);
  }

  /**
   * unmapped_area_topdown: the highest address a, aligned to align, with [a, a + len) free and
   * inside [low, high). Walks gaps, not VMAs. Returns -1 when there is none.
   */
  findGapTopDown(len: number, low: number, high: number, align: number): number {
    const slot = this.gapSlotFor(len, low, high, align);
    if (slot < 0) return -1;
    this.gapAt = this.topFit(slot, len, high, align);
    const next = (this.gapNext = this.gaps.valAt(slot));
    if (next) next.gapSlot = slot;
    return this.gapAt;
  }

  /** The highest address, aligned, where len bytes fit below the end of a gap (and below high). */
  private topFit(slot: number, len: number, high: number, align: number): number {
    return Math.floor((Math.min(this.gaps.keyAt(slot), high) - len) / align) * align;
  }

  /** The slot in `gaps` of the highest gap with room for findGapTopDown's range, or -1. */
  private gapSlotFor(len: number, low: number, high: number, align: number): number {
    const gaps = this.gaps;
    for (let slot = gaps.lastSlot(); slot >= 0; slot = gaps.prevSlot(slot)) {
      const end = gaps.keyAt(slot);
      if (end <= low) break;
      const lo = Math.max(gaps.auxAt(slot), low);
      if (Math.min(end, high) - lo >= len && this.topFit(slot, len, high, align) >= lo) return slot;
    }
    return -1;
  }

  /** findGapTopDown written plainly over the list, for check(). */
  private gapByWalk(len: number, low: number, high: number, align: number): number {
    let best = -1;
    let below: Vma | null = null;
    for (let above = this.head; ; below = above, above = above.next) {
      const lo = Math.max(below ? below.end : 0, low);
      const hi = Math.min(above ? above.start : TOP, high);
      const a = Math.floor((hi - len) / align) * align;
      if (hi - lo >= len && a >= lo) best = a;
      if (!above) return best;
    }
  }

  /**
   * Check the tree against the list, the gaps against the VMAs, the index against both and the
   * gap search against a plain walk (tests; throws on the first disagreement).
   */
  check(): void {
    let prev: Vma | null = null;
    let n = 0;
    const want: [number, number, Vma | null][] = [];
    for (let v = this.head; v; prev = v, v = v.next) {
      n++;
      if (v.prev !== prev) throw new Error(`list links broken at ${v}`);
      if (this.tree.get(v.start) !== v) throw new Error(`tree does not hold ${v} at its start`);
      if (this.find(v.start) !== v || this.find(v.end - 1) !== v) throw new Error(`find() misses ${v}`);
      const below = prev ? prev.end : 0;
      if (below < v.start) want.push([v.start, below, v]);
    }
    if (this.tail !== prev || n !== this.tree.size) throw new Error('list and tree disagree');
    want.push([TOP, prev ? prev.end : 0, null]);
    const have = [...this.gaps.entries()].map(([end, above, start]) => [end, start, above] as const);
    const text = (gaps: (readonly [number, number, Vma | null])[]) => gaps.map(([end, start, above]) => `[${start}, ${end}) below ${above}`).join(' ');
    if (have.length !== want.length || have.some(([end, start, above], i) => end !== want[i][0] || start !== want[i][1] || above !== want[i][2])) {
      throw new Error(`gaps ${text(have)} where the VMAs leave ${text(want)}`);
    }
    const mid = this.head ? this.head.end + 7 * 4096 : 2 ** 40;
    for (const [len, low, high, align] of [[4096, 65536, TOP, 4096], [3 * 4096, 65536, mid, 4096], [2 ** 21, 65536, TOP, 2 ** 21], [64 * 4096, 0, mid, 4096]]) {
      // (the search itself, not findGapTopDown: check() leaves what the last search found alone)
      const slot = this.gapSlotFor(len, low, high, align);
      const found = slot < 0 ? -1 : this.topFit(slot, len, high, align);
      const walked = this.gapByWalk(len, low, high, align);
      if (found !== walked) throw new Error(`gap search for ${len} in [${low}, ${high}) found ${found}, the VMAs leave ${walked}`);
    }
  }

  /** Whether [start, end) overlaps no VMA. */
  isFree(start: number, end: number): boolean {
    const v = this.findFrom(start);
    return !v || v.start >= end;

  }

  /** VMAs overlapping [start, end), in order. */
  overlapping(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let v = this.findFrom(start); v && v.start < end; v = v.next) out.push(v);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<Vma> {
    for (let v = this.head; v; v = v.next) yield v;
  }
}
