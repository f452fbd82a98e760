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
  const ev = text.startsWith('= Start') || /^@ /m.test(text.slice(0, 4096)) ? parseMtrace(text, name) : parseTrace(text, name);
  ev.fromTrace = true;
  return ev;
}

/** malloc-trace v1, parsed by hand: a three-million-line trace should not cost a split per line. */
export function parseTrace(text: string, name = 'trace'): EventList {
  const ev = new EventList(name);
  const len = text.length;
  let at = 0;
  let lineNo = 0;
  const fields = [0, 0, 0];
  while (at < len) {
    lineNo++;
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = len;
    const c = text.charCodeAt(at);
    if (nl === at || c === 35 /* # */) {
      at = nl + 1;
      continue;
    }
    // numbers after the event letter, space-separated
    let k = 0;
    let i = at + 1;
    while (i < nl && k < 3) {
      if (text.charCodeAt(i) !== 32) throw new TraceFormatError(name, lineNo, `bad line '${text.slice(at, nl)}'`);
      i++;
      let v = 0;
      const s = i;
      for (let d = text.charCodeAt(i); d >= 48 && d <= 57; d = text.charCodeAt(++i)) v = v * 10 + (d - 48);
      if (i === s || (i < nl && text.charCodeAt(i) !== 32)) throw new TraceFormatError(name, lineNo, `bad number '${text.slice(s, text.indexOf(' ', s) < 0 || text.indexOf(' ', s) > nl ? nl : text.indexOf(' ', s))}'`);
      fields[k++] = v;
    }
    const need = (n: number) => {
      if (k !== n) throw new TraceFormatError(name, lineNo, `expected ${n} numbers`);
    };
    switch (c) {
      case 97 /* a */:
        need(2);
        ev.push(OP_MALLOC, fields[0], fields[1]);
        break;
      case 99 /* c */:
        need(3);
        ev.push(OP_CALLOC, fields[0], fields[1], fields[2]);
        break;
      case 109 /* m */:
        need(3);
        ev.push(OP_MEMALIGN, fields[0], fields[1], fields[2]);
        break;
      case 114 /* r */:
        need(3);
        ev.push(OP_REALLOC, fields[0], fields[1], fields[2]);
        break;
      case 102 /* f */:
        need(1);
        ev.push(OP_FREE, fields[0]);
        break;
      case 116 /* t */:
        need(1);
        ev.push(OP_THREAD, fields[0]);
        break;
      default:
        throw new TraceFormatError(name, lineNo, `unknown event '${text[at]}'`);
    }
    at = nl + 1;
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
