// Decoding trace lines into events, one line at a time, so a trace of any size streams: memory
// is bounded by the live objects and the threads, never by the file. malloc-trace v1
// (../shared/traces/FORMAT.md) and glibc's mtrace output. Object IDs and thread IDs are remapped
// to dense slots (IDs of freed objects are reused), so `a 99999999999 1` or `t 1000000000` cost one
// slot, not an array that long. Calls that break the protocol (a free of an ID that is not live,
// an allocation of one that is) are counted and skipped, or with `strict` rejected.
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, OP_THREAD } from './events.js';

export class TraceFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly why: string,
  ) {
    super(`${file}:${line}: ${why}`);
    this.name = 'TraceFormatError';
  }
}

/** Where decoded events go. */
export interface EventSink {
  push(op: number, x: number, y?: number, z?: number): void;
}

/** The longest line a trace may have; a longer one is not a trace (a binary file, /dev/zero). */
export const MAX_LINE = 4096;

/** At most 80 characters of a line, with what cannot be printed escaped. */
export function excerpt(line: string): string {
  const s = line.length > 80 ? line.slice(0, 80) + '...' : line;
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface DecoderOptions {
  /** Reject a protocol error instead of counting and skipping it. @defaultValue false */
  strict?: boolean;
}

/** IDs below this are looked up in a typed array; larger ones (rare: IDs are dense) in a Map. */
const DIRECT_IDS = 1 << 20;

/** The ID -> slot map of live objects: slots are dense and reused. */
class Slots {
  /** slot + 1 of each small live ID, 0 when not live. */
  private direct = new Int32Array(1024);
  private readonly far = new Map<number, number>();
  private readonly free: number[] = [];
  /** One more than the highest slot ever used. */
  size = 0;

  private at(id: number): number {
    return id < DIRECT_IDS ? (id < this.direct.length ? this.direct[id] - 1 : -1) : (this.far.get(id) ?? -1);
  }
  private set(id: number, slot: number): void {
    if (id >= DIRECT_IDS) {
      if (slot < 0) this.far.delete(id);
      else this.far.set(id, slot);
      return;
    }
    if (id >= this.direct.length) {
      let n = this.direct.length;
      while (n <= id) n *= 2;
      const d = new Int32Array(n);
      d.set(this.direct);
      this.direct = d;
    }
    this.direct[id] = slot + 1;
  }
  has(id: number): boolean {
    return this.at(id) >= 0;
  }
  get(id: number): number {
    return this.at(id);
  }
  take(id: number): number {
    const s = this.free.length ? this.free.pop()! : this.size++;
    this.set(id, s);
    return s;
  }
  move(from: number, to: number): number {
    const s = this.at(from);
    this.set(from, -1);
    this.set(to, s);
    return s;
  }
  release(id: number): number {
    const s = this.at(id);
    this.set(id, -1);
    this.free.push(s);
    return s;
  }
}

export class TraceDecoder {
  private format: 'v1' | 'mtrace' | null = null;
  private readonly objects = new Slots();
  private readonly tids = new Map<number, number>();
  /** mtrace: address -> object slot, and the old object of a realloc in progress. */
  private readonly addrs = new Slots();
  private pendingOld: number | null = null;
  /** Protocol errors counted (and skipped) so far, and the first one with its place. */
  errors = 0;
  firstError: string | null = null;
  private readonly fields = [0, 0, 0, 0];

  constructor(
    readonly file: string,
    private readonly opts: DecoderOptions = {},
  ) {}

  /** Slots a replay needs (the highest dense object ID + 1). */
  get slots(): number {
    return Math.max(this.objects.size, this.addrs.size);
  }

  get threads(): number {
    return Math.max(1, this.tids.size);
  }

  /** Decode one line (without its newline) of the file. */
  line(buf: Uint8Array, start: number, end: number, lineNo: number, sink: EventSink): void {
    if (end > start && buf[end - 1] === 13) end--; // \r\n
    if (end === start) return;
    if (this.format === null) this.format = buf[start] === 0x40 /* @ */ || buf[start] === 0x3d /* = */ ? 'mtrace' : 'v1';
    if (this.format === 'mtrace') return this.mtraceLine(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'), lineNo, sink);
    const c = buf[start];
    if (c === 35 /* # */) return;
    const fail = (why: string): never => {
      throw new TraceFormatError(this.file, lineNo, `${why} in '${excerpt(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'))}'`);
    };
    // the event letter, then numbers each after one space
    const want = c === 97 || c === 102 || c === 116 ? (c === 97 ? 2 : 1) : c === 99 || c === 109 || c === 114 ? 3 : -1;
    if (want < 0) fail(`unknown event '${excerpt(String.fromCharCode(c))}'`);
    const f = this.fields;
    let k = 0;
    let i = start + 1;
    while (i < end) {
      if (buf[i] !== 32 || k === 4) fail(k === 4 ? 'too many fields' : 'fields are separated by one space');
      i++;
      let v = 0;
      const s = i;
      for (let d = buf[i]; i < end && d >= 48 && d <= 57; d = buf[++i]) v = v * 10 + (d - 48);
      if (i === s || (i < end && buf[i] !== 32)) fail('bad number');
      if (!Number.isSafeInteger(v)) fail('number too large');
      f[k++] = v;
    }
    if (k !== want) fail(`expected ${want} number${want > 1 ? 's' : ''}, found ${k}`);
    const o = this.objects;
    switch (c) {
      case 97 /* a */:
      case 99 /* c */:
      case 109 /* m */: {
        if (o.has(f[0])) return this.protocol(lineNo, `allocation of object ${f[0]}, which is live`);
        const op = c === 97 ? OP_MALLOC : c === 99 ? OP_CALLOC : OP_MEMALIGN;
        return sink.push(op, o.take(f[0]), f[1], f[2]);
      }
      case 114 /* r */: {
        if (!o.has(f[0])) return this.protocol(lineNo, `realloc of object ${f[0]}, which is not live`);
        if (f[1] !== f[0] && o.has(f[1])) return this.protocol(lineNo, `realloc result ${f[1]} is a live object`);
        const s = o.move(f[0], f[1]);
        // realloc(p, 0) frees p (glibc): the object is gone
        if (f[2] === 0) o.release(f[1]);
        return sink.push(OP_REALLOC, s, s, f[2]);
      }
      case 102 /* f */:
        if (!o.has(f[0])) return this.protocol(lineNo, `free of object ${f[0]}, which is not live`);
        return sink.push(OP_FREE, o.release(f[0]));
      default /* t */: {
        let t = this.tids.get(f[0]);
        if (t === undefined) this.tids.set(f[0], (t = this.tids.size));
        return sink.push(OP_THREAD, t);
      }
    }
  }

  private protocol(lineNo: number, why: string): void {
    const msg = `${this.file}:${lineNo}: ${why}`;
    if (this.opts.strict) throw new TraceFormatError(this.file, lineNo, why);
    this.errors++;
    this.firstError ??= msg;
  }

  /**
   * glibc mtrace output: `@ caller + 0xADDR 0xSIZE` (malloc), `@ caller - 0xADDR` (free),
   * `@ caller < 0xOLD` then `@ caller > 0xNEW 0xSIZE` (realloc). A free of an address not
   * allocated while tracing is memory from before tracing began, and is dropped.
   */
  private mtraceLine(line: string, lineNo: number, sink: EventSink): void {
    const m = /^@ \S+ ([-+<>]) (0x[0-9a-fA-F]+)(?: (0x[0-9a-fA-F]+))?/.exec(line);
    if (!m) return;
    const [, kind, hex, size] = m;
    const addr = parseInt(hex, 16);
    const a = this.addrs;
    if (kind === '+') sink.push(OP_MALLOC, a.take(addr), parseInt(size ?? '0', 16));
    else if (kind === '-') {
      if (a.has(addr)) sink.push(OP_FREE, a.release(addr));
    } else if (kind === '<') {
      this.pendingOld = a.has(addr) ? addr : null;
    } else {
      if (size === undefined) throw new TraceFormatError(this.file, lineNo, `realloc result without a size in '${excerpt(line)}'`);
      if (this.pendingOld === null) sink.push(OP_MALLOC, a.take(addr), parseInt(size, 16));
      else {
        const s = a.move(this.pendingOld, addr);
        sink.push(OP_REALLOC, s, s, parseInt(size, 16));
      }
      this.pendingOld = null;
    }
  }
}

/**
 * Split byte chunks into lines for a decoder: lines may cross chunk boundaries; a line longer
 * than MAX_LINE, or a NUL byte anywhere, means the file is not a trace.
 */
export class LineSplitter {
  private carry: Uint8Array | null = null;
  lineNo = 0;

  constructor(
    private readonly file: string,
    private readonly onLine: (buf: Uint8Array, start: number, end: number, lineNo: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const nul = chunk.indexOf(0);
    if (nul >= 0) {
      const before = chunk.subarray(0, nul);
      let lines = 0;
      for (let i = before.indexOf(10); i >= 0; i = before.indexOf(10, i + 1)) lines++;
      throw new TraceFormatError(this.file, this.lineNo + lines + 1, 'a NUL byte: not a trace (a binary file?)');
    }
    let buf = chunk;
    let from = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      const head = nl < 0 ? chunk : chunk.subarray(0, nl);
      const joined = new Uint8Array(this.carry.length + head.length);
      joined.set(this.carry);
      joined.set(head, this.carry.length);
      if (nl < 0) {
        this.keep(joined);
        return;
      }
      this.carry = null;
      this.emit(joined, 0, joined.length);
      buf = chunk;
      from = nl + 1;
    }
    for (;;) {
      const nl = buf.indexOf(10, from);
      if (nl < 0) break;
      this.emit(buf, from, nl);
      from = nl + 1;
    }
    if (from < buf.length) this.keep(buf.slice(from));
  }

  /** The end of the input: a last line without a newline. */
  end(): void {
    if (this.carry) {
      const c = this.carry;
      this.carry = null;
      this.emit(c, 0, c.length);
    }
  }

  private keep(part: Uint8Array): void {
    if (part.length > MAX_LINE) this.tooLong();
    this.carry = part;
  }

  private tooLong(): never {
    throw new TraceFormatError(this.file, this.lineNo + 1, `a line longer than ${MAX_LINE} bytes: not a trace (a binary file?)`);
  }

  private emit(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    if (end - start > MAX_LINE) this.tooLong();
    this.onLine(buf, start, end, this.lineNo);
  }
}
