// Trace readers: malloc-trace v1 (../shared/traces/FORMAT.md) and glibc's mtrace output, plain
// or gzip-compressed. A malformed line is an error naming its line number.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EventList, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, OP_THREAD } from './events.js';

export class TraceFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    why: string,
  ) {
    super(`${file}:${line}: ${why}`);
    this.name = 'TraceFormatError';
  }
}

/** Read a trace file (format detected from its first line), gunzipping when needed. */
export function readTrace(path: string): EventList {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const text = buf.toString('utf8');
  const name = basename(path).replace(/\.gz$/, '').replace(/\.(trace|mtrace|txt)$/, '');
  return text.startsWith('= Start') || /^@ /m.test(text.slice(0, 4096)) ? parseMtrace(text, name) : parseTrace(text, name);
}

/** malloc-trace v1. */
export function parseTrace(text: string, name = 'trace'): EventList {
  const ev = new EventList(name);
  let lineNo = 0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    lineNo++;
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line.length === 0 || line[0] === '#') continue;
    const f = line.split(' ');
    const n = (i: number) => {
      const v = Number(f[i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new TraceFormatError(name, lineNo, `bad number '${f[i]}'`);
      return v;
    };
    switch (f[0]) {
      case 'a':
        ev.push(OP_MALLOC, n(1), n(2));
        break;
      case 'c':
        ev.push(OP_CALLOC, n(1), n(2), n(3));
        break;
      case 'm':
        ev.push(OP_MEMALIGN, n(1), n(2), n(3));
        break;
      case 'r':
        ev.push(OP_REALLOC, n(1), n(2), n(3));
        break;
      case 'f':
        ev.push(OP_FREE, n(1));
        break;
      case 't':
        ev.push(OP_THREAD, n(1));
        break;
      default:
        throw new TraceFormatError(name, lineNo, `unknown event '${f[0]}'`);
    }
  }
  return ev;
}

/**
 * glibc mtrace output: `@ caller + 0xADDR 0xSIZE` (malloc), `@ caller - 0xADDR` (free),
 * `@ caller < 0xOLD` then `@ caller > 0xNEW 0xSIZE` (realloc). Addresses become dense IDs.
 */
export function parseMtrace(text: string, name = 'mtrace'): EventList {
  const ev = new EventList(name);
  const ids = new Map<string, number>();
  const freeIds: number[] = [];
  let next = 0;
  let pendingOld: number | null = null;
  const idFor = (addr: string) => {
    const id = freeIds.pop() ?? next++;
    ids.set(addr, id);
    return id;
  };
  text.split('\n').forEach((line, i) => {
    const m = /^@ \S+ ([-+<>]) (0x[0-9a-fA-F]+)(?: (0x[0-9a-fA-F]+))?/.exec(line);
    if (!m) return;
    const [, kind, addr, size] = m;
    if (kind === '+') ev.push(OP_MALLOC, idFor(addr), parseInt(size ?? '0', 16));
    else if (kind === '-') {
      const id = ids.get(addr);
      if (id === undefined) return; // a free of memory allocated before tracing began
      ids.delete(addr);
      freeIds.push(id);
      ev.push(OP_FREE, id);
    } else if (kind === '<') {
      pendingOld = ids.get(addr) ?? null;
      if (pendingOld !== null) ids.delete(addr);
    } else {
      if (size === undefined) throw new TraceFormatError(name, i + 1, 'realloc result without a size');
      if (pendingOld === null) ev.push(OP_MALLOC, idFor(addr), parseInt(size, 16));
      else {
        ids.set(addr, pendingOld);
        ev.push(OP_REALLOC, pendingOld, pendingOld, parseInt(size, 16));
      }
      pendingOld = null;
    }
  });
  return ev;
}
