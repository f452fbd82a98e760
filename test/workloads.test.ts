// Workloads: seeded generators are deterministic and well-formed; trace readers accept the
// documented formats (plain, gzip, mtrace) and name the line of a malformed event.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../src/workloads/events.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { parseMtrace, parseTrace, readTrace, openTrace, scanTrace, traceChunks, TraceFormatError } from '../src/workloads/trace.js';

/** Every free and realloc names a live ID; every allocation a free one. */
function wellFormed(ev: EventList): boolean {
  const live = new Set<number>();
  for (let i = 0; i < ev.length; i++) {
    const op = ev.op[i];
    const id = ev.x[i];
    if (op === OP_THREAD) continue;
    if (op === OP_FREE) {
      if (!live.delete(id)) return false;
    } else if (op === OP_REALLOC) {
      if (!live.delete(id)) return false;
      if (ev.z[i] !== 0) live.add(ev.y[i]); // realloc(p, 0) frees p
    } else {
      if (live.has(id)) return false;
      live.add(id);
    }
  }
  return true;
}

describe('synthetic workloads', () => {
  for (const [name, w] of Object.entries(WORKLOADS)) {
    it(`${name} is deterministic per seed and well-formed`, () => {
      const a = w.make({ seed: 7, events: 5000 });
      const b = w.make({ seed: 7, events: 5000 });
      const c = w.make({ seed: 8, events: 5000 });
      expect(a.length).toBe(5000);
      expect(Array.from(a.y.subarray(0, a.length))).toEqual(Array.from(b.y.subarray(0, b.length)));
      expect(Array.from(a.y.subarray(0, a.length))).not.toEqual(Array.from(c.y.subarray(0, c.length)));
      expect(wellFormed(a)).toBe(true);
    });
  }
});

describe('trace readers', () => {
  const text = '# malloc-trace v1\n# name: example\na 0 24\nc 1 4 256\nm 2 64 1000\nt 1\nr 0 0 4096\nf 1\nt 0\nf 2\n';

  it('reads the line format of FORMAT.md, plain and gzipped', () => {
    const ev = parseTrace(text, 'example');
    expect(ev.length).toBe(8);
    expect(ev.events).toBe(6);
    expect([ev.op[0], ev.x[0], ev.y[0]]).toEqual([OP_MALLOC, 0, 24]);
    expect([ev.op[4], ev.x[4], ev.y[4], ev.z[4]]).toEqual([OP_REALLOC, 0, 0, 4096]);
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    writeFileSync(join(dir, 'example.trace.gz'), gzipSync(text));
    const gz = readTrace(join(dir, 'example.trace.gz'));
    expect(gz.name).toBe('example');
    expect(gz.length).toBe(8);
  });

  it('names the line of a malformed event', () => {
    expect(() => parseTrace('a 0 24\nq 1\n', 'bad')).toThrow(TraceFormatError);
    expect(() => parseTrace('a 0 24\nq 1\n', 'bad')).toThrow('bad:2: unknown event');
    expect(() => parseTrace('a x 24\n', 'bad')).toThrow("bad:1: bad number in 'a x 24'");
    expect(() => parseTrace('c 0 4 256 999\n', 'bad')).toThrow('bad:1: expected 3 numbers, found 4');
    expect(() => parseTrace('a 0 24 99\n', 'bad')).toThrow('bad:1: expected 2 numbers, found 3');
    expect(() => parseTrace('a 0 99999999999999999999\n', 'bad')).toThrow('bad:1: number too large');
    // a binary line is named, never echoed whole
    const binary = 'a 0 24\n\x01\x02' + 'z'.repeat(3000) + '\n';
    expect(() => parseTrace(binary, 'bin')).toThrow(/^bin:2: unknown event '\\x01' in '\\x01\\x02z{78}\.\.\.'$/);
  });

  it('remaps object and thread IDs densely, whatever the trace calls them', () => {
    const ev = parseTrace('t 1000000000\na 99999999999 10\nt 0\na 5 20\nf 99999999999\na 7 30\n');
    expect(Array.from(ev.op.subarray(0, ev.length))).toEqual([OP_THREAD, OP_MALLOC, OP_THREAD, OP_MALLOC, OP_FREE, OP_MALLOC]);
    expect([ev.x[0], ev.x[1], ev.x[2], ev.x[3], ev.x[4], ev.x[5]]).toEqual([0, 0, 1, 1, 0, 0]);
    expect(ev.maxId).toBe(1);
  });

  it('counts and skips protocol errors, or rejects them with strict', () => {
    const bad = 'a 0 10\na 0 20\nf 3\nr 4 4 10\nf 0\nf 0\n';
    const ev = parseTrace(bad, 'p') as ReturnType<typeof parseTrace> & { traceErrors: number; firstTraceError: string };
    expect(Array.from(ev.op.subarray(0, ev.length))).toEqual([OP_MALLOC, OP_FREE]);
    expect([ev.traceErrors, ev.firstTraceError]).toEqual([4, 'p:2: allocation of object 0, which is live']);
    expect(() => parseTrace(bad, 'p', { strict: true })).toThrow('p:2: allocation of object 0, which is live');
  });

  it('streams a trace in two passes that agree with reading it whole, in bounded memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stream-'));
    const f = join(dir, 'big.trace.gz');
    const lines: string[] = ['# malloc-trace v1'];
    for (let i = 0; i < 50_000; i++) lines.push(`t ${i % 3 === 0 ? 7 : 0}`, `a ${i % 100} ${i % 977}`, `f ${i % 100}`);
    writeFileSync(f, gzipSync(lines.join('\n')));
    const whole = readTrace(f);
    const shape = await scanTrace(f);
    expect([shape.length, shape.events, shape.slots, shape.threads]).toEqual([whole.length, whole.events, whole.maxId + 1, 2]);
    let n = 0;
    let max = 0;
    for await (const c of traceChunks(f, {}, 4096)) {
      for (let i = 0; i < c.length; i++, n++) expect([c.op[i], c.x[i], c.y[i]]).toEqual([whole.op[n], whole.x[n], whole.y[n]]);
      max = Math.max(max, c.length);
    }
    expect([n, max]).toEqual([whole.length, 4096]);
    // openTrace: kept from the first pass when short enough, decoded again when not; the same events
    for (const keepEvents of [0, 10_000, 1 << 20]) {
      const t = await openTrace(f, { keepEvents }, 4096);
      expect(t.shape).toEqual(shape);
      const seen: number[] = [];
      for await (const c of t.chunks) for (let i = 0; i < c.length; i++) seen.push(c.op[i], c.x[i], c.y[i]);
      expect(seen.length).toBe(whole.length * 3);
      expect(seen.every((v, j) => v === [whole.op, whole.x, whole.y][j % 3][Math.floor(j / 3)])).toBe(true);
    }
  });

  it('refuses what is not a trace, naming the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notrace-'));
    const long = join(dir, 'long.trace');
    writeFileSync(long, 'a 0 1\n' + '9'.repeat(10_000));
    await expect(scanTrace(long)).rejects.toThrow(`${long}:2: a line longer than 4096 bytes`);
    expect(() => readTrace(long)).toThrow(`${long}:2: a line longer than 4096 bytes`);
    const nul = join(dir, 'nul.trace');
    writeFileSync(nul, Buffer.concat([Buffer.from('a 0 1\nf 0\n'), Buffer.alloc(100)]));
    await expect(scanTrace(nul)).rejects.toThrow(`${nul}:3: a NUL byte`);
    const trunc = join(dir, 'cut.trace.gz');
    const gz = gzipSync('a 0 1\n'.repeat(10000));
    writeFileSync(trunc, gz.subarray(0, gz.length - 20));
    await expect(scanTrace(trunc)).rejects.toThrow(new RegExp(`^${trunc.replace(/[.]/g, '\\.')}:\\d+: cannot read`));
    expect(() => readTrace(trunc)).toThrow(`${trunc}:0: not a readable gzip file`);
  });

  it('fuzz: random and mutated traces decode or fail with a TraceFormatError, never anything else', () => {
    const line = fc.oneof(
      fc.tuple(fc.constantFrom('a', 'c', 'm', 'r', 'f', 't', 'x', '#', ''), fc.array(fc.oneof(fc.nat(200), fc.constantFrom(-1, 1e21, 2 ** 53)), { maxLength: 4 })).map(([l, ns]) => [l, ...ns].join(' ')),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), (ls, strict) => {
        try {
          const ev = parseTrace(ls.join('\n'), 'fz', { strict });
          expect(wellFormed(ev)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(TraceFormatError);
          expect((e as Error).message).toMatch(/^fz:\d+: /);
          expect((e as Error).message.length).toBeLessThan(300);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("reads glibc's mtrace output, turning addresses into dense IDs", () => {
    const m = ['= Start', '@ ./a.out:[0x4005d4] + 0x1a2b010 0x64', '@ ./a.out:[0x4005e2] < 0x1a2b010', '@ ./a.out:[0x4005e2] > 0x1a2b4a0 0xc8', '@ ./a.out:[0x4005f0] - 0x1a2b4a0', '@ ./a.out:[0x4005f0] - 0xdead', '= End'].join('\n');
    const ev = parseMtrace(m);
    expect(Array.from(ev.op.subarray(0, ev.length))).toEqual([OP_MALLOC, OP_REALLOC, OP_FREE]);
    expect([ev.y[0], ev.z[1]]).toEqual([100, 200]);
    expect(wellFormed(ev)).toBe(true);
  });
});
