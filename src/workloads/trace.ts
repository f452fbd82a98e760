// Trace files: malloc-trace v1 and glibc mtrace output, plain or gzip-compressed, decoded by
// trace-decoder.ts. `readTrace` loads a whole (small) trace into memory; `scanTrace` and
// `traceChunks` stream one of any size in two passes (the first learns the event count, threads
// and slots a replay needs), holding only a chunk of events at a time; `openTrace` does both and
// skips the second decode of a trace short enough to keep.
import { createReadStream, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { basename } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import { EventList, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, OP_THREAD } from './events.js';
import { type DecoderOptions, type EventSink, LineSplitter, TraceDecoder, TraceFormatError } from './trace-decoder.js';
import { ShapeCounter, type WorkloadShape } from './shape.js';

export { TraceFormatError } from './trace-decoder.js';

/** A trace's name: its file name without .gz and .trace/.mtrace/.txt. */
export function traceName(path: string): string {
  return basename(path).replace(/\.gz$/, '').replace(/\.(trace|mtrace|txt)$/, '');
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

function decodeText(bytes: Uint8Array, file: string, name: string, opts: DecoderOptions = {}): EventList {
  const ev = new EventList(name);
  const dec = new TraceDecoder(file, opts);
  const lines = new LineSplitter(file, (b, s, e, n) => dec.line(b, s, e, n, ev));
  lines.push(bytes);
  lines.end();
  ev.traceErrors = dec.errors;
  ev.firstTraceError = dec.firstError;
  return ev;
}

/** An event list as malloc-trace v1 text after the given header lines (the format's one writer). */
export function formatEvents(ev: EventList, header: string[]): string {
  const lines = [...header];
  for (let i = 0; i < ev.length; i++) {
    const [x, y, z] = [ev.x[i], ev.y[i], ev.z[i]];
    switch (ev.op[i]) {
      case OP_MALLOC: lines.push(`a ${x} ${y}`); break;
      case OP_CALLOC: lines.push(`c ${x} ${y} ${z}`); break;
      case OP_MEMALIGN: lines.push(`m ${x} ${y} ${z}`); break;
      case OP_REALLOC: lines.push(`r ${x} ${y} ${z}`); break;
      case OP_FREE: lines.push(`f ${x}`); break;
      case OP_THREAD: lines.push(`t ${x}`); break;
    }
  }
  return lines.join('\n') + '\n';
}

/** Parse malloc-trace v1 text (tests and small inputs). */
export function parseTrace(text: string, name = 'trace', opts: DecoderOptions = {}): EventList {
  return decodeText(Buffer.from(text, 'latin1'), name, name, opts);
}

/** Parse glibc mtrace text. */
export function parseMtrace(text: string, name = 'mtrace'): EventList {
  return decodeText(Buffer.from(text, 'latin1'), name, name);
}

/** Read a whole trace file into memory (format detected from its first line), gunzipping when needed. */
export function readTrace(path: string, opts: DecoderOptions = {}): EventList {
  let buf: Uint8Array = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new TraceFormatError(path, 0, `not a readable gzip file: ${(e as Error).message}`);
    }
  }
  const ev = decodeText(buf, path, traceName(path), opts);
  ev.fromTrace = true;
  return ev;
}

/**
 * Decode a file line by line into sink, streaming (gunzipping on the way); between input chunks
 * it yields, so a consumer can take what the sink gathered. A read error (a truncated .gz) is a
 * TraceFormatError naming the file and the line reached.
 */
async function* decodeFile(path: string, dec: TraceDecoder, sink: EventSink): AsyncGenerator<void> {
  const lines = new LineSplitter(path, (b, s, e, n) => dec.line(b, s, e, n, sink));
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const input = isGzip(path) ? raw.pipe(createGunzip({ chunkSize: 1 << 18 })) : raw;
  raw.on('error', (e) => input.destroy(e));
  try {
    for await (const chunk of input) {
      lines.push(chunk as Buffer);
      yield;
    }
    lines.end();
  } catch (e) {
    if (e instanceof TraceFormatError) throw e;
    throw new TraceFormatError(path, lines.lineNo, `cannot read: ${(e as Error).message}`);
  } finally {
    raw.destroy();
  }
}

export interface StreamOptions extends DecoderOptions {
  /** Deal events over this many threads in blocks of 64 instead of following `t` lines. */
  threads?: number;
}

/** The first pass: count what a replay needs, keeping nothing but the live IDs. */
export async function scanTrace(path: string, opts: StreamOptions = {}): Promise<WorkloadShape> {
  return (await openTrace(path, { ...opts, keepEvents: 0 })).shape;
}

/**
 * A trace of at most this many events is decoded once: the first pass keeps its events (25 bytes
 * each, about 100 MB at the limit) and the replay reads them from memory. A longer one is decoded
 * again by the second pass, so memory stays bounded whatever the trace's length.
 */
export const KEEP_DECODED_EVENTS = 1 << 22;

/**
 * A trace ready to replay: its shape (the first pass) and its events, a chunk at a time (kept from
 * the first pass when there were at most keepEvents of them, else decoded again as they are read).
 */
export async function openTrace(path: string, opts: StreamOptions & { keepEvents?: number } = {}, chunkEvents = 1 << 16): Promise<{ shape: WorkloadShape; chunks: AsyncIterable<EventList> }> {
  const keepEvents = opts.keepEvents ?? KEEP_DECODED_EVENTS;
  const dec = new TraceDecoder(path, opts);
  const counter = new ShapeCounter(opts.threads);
  const name = traceName(path);
  let kept: EventList[] | null = keepEvents > 0 ? [] : null;
  let keptEvents = 0;
  let ev = new EventList(name, Math.min(chunkEvents, 1024));
  const sink: EventSink = {
    push(op, x, y = 0, z = 0) {
      counter.push(op, x);
      if (!kept) return;
      ev.push(op, x, y, z);
      if (ev.length < chunkEvents) return;
      kept.push(ev);
      keptEvents += ev.length;
      ev = new EventList(name, chunkEvents);
      if (keptEvents >= keepEvents) kept = null; // too long to keep: the replay decodes it again
    },
  };
  for await (const _ of decodeFile(path, dec, sink));
  const shape = counter.shape(name, true, dec.slots, { traceErrors: dec.errors, firstTraceError: dec.firstError });
  if (kept && ev.length + keptEvents <= keepEvents) {
    if (ev.length) kept.push(ev);
    const lists = kept;
    return { shape, chunks: (async function* () { while (lists.length) yield lists.shift()!; })() };
  }
  return { shape, chunks: traceChunks(path, opts, chunkEvents) };
}

/** The second pass: the trace's events, a chunk at a time, decoded exactly as scanTrace decoded them. */
export async function* traceChunks(path: string, opts: DecoderOptions = {}, chunkEvents = 1 << 16): AsyncGenerator<EventList> {
  const dec = new TraceDecoder(path, opts);
  const name = traceName(path);
  let ev = new EventList(name, chunkEvents);
  const ready: EventList[] = [];
  const sink: EventSink = {
    push(op, x, y, z) {
      ev.push(op, x, y, z);
      if (ev.length >= chunkEvents) {
        ready.push(ev);
        ev = new EventList(name, chunkEvents);
      }
    },
  };
  for await (const _ of decodeFile(path, dec, sink)) while (ready.length) yield ready.shift()!;
  if (ev.length) yield ev;
}
