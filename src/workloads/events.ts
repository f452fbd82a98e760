// A workload is a list of malloc-family calls on object IDs, stored column-wise so a million
// events cost a few typed arrays, not a million objects. The format mirrors malloc-trace v1
// (../shared/traces/FORMAT.md).

export const OP_MALLOC = 1; // x = id, y = size
export const OP_CALLOC = 2; // x = id, y = nmemb, z = size
export const OP_MEMALIGN = 3; // x = id, y = align, z = size
export const OP_REALLOC = 4; // x = old id, y = new id, z = size
export const OP_FREE = 5; // x = id
export const OP_THREAD = 6; // x = thread id

export class EventList {
  op: Uint8Array;
  x: Float64Array;
  y: Float64Array;
  z: Float64Array;
  length = 0;
  /** The largest object ID used (IDs are dense and reused). */
  maxId = 0;
  /** Read from a trace file (replays then start as the traces' replayer does). */
  fromTrace = false;
  /** Trace lines that broke the protocol and were skipped (lenient decoding), and the first of them. */
  traceErrors = 0;
  firstTraceError: string | null = null;

  /** capacity: events to make room for at once (a list grows by doubling past it). */
  constructor(
    readonly name: string,
    capacity = 1024,
  ) {
    capacity = Math.max(1, Math.floor(capacity)); // grow() doubles it: never 0
    this.op = new Uint8Array(capacity);
    this.x = new Float64Array(capacity);
    this.y = new Float64Array(capacity);
    this.z = new Float64Array(capacity);
  }

  push(op: number, x: number, y = 0, z = 0): void {
    if (this.length === this.op.length) this.grow();
    const i = this.length++;
    this.op[i] = op;
    this.x[i] = x;
    this.y[i] = y;
    this.z[i] = z;
    if (op !== OP_THREAD) {
      if (x > this.maxId) this.maxId = x;
      if (op === OP_REALLOC && y > this.maxId) this.maxId = y;
    }
  }

  private grow(): void {
    const n = this.op.length * 2;
    const op = new Uint8Array(n);
    op.set(this.op);
    this.op = op;
    for (const k of ['x', 'y', 'z'] as const) {
      const a = new Float64Array(n);
      a.set(this[k]);
      this[k] = a;
    }
  }

  /** Count of malloc-family events (thread switches excluded). */
  get events(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.op[i] !== OP_THREAD) n++;
    return n;
  }
}
