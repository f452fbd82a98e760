// Workloads: seeded generators are deterministic and well-formed; trace readers accept the
// documented formats (plain, gzip, mtrace) and name the line of a malformed event.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, type EventList } from '../src/workloads/events.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';
import { parseMtrace, parseTrace, readTrace, TraceFormatError } from '../src/workloads/trace.js';

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
      live.add(ev.y[i]);
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
    expect(() => parseTrace('a x 24\n', 'bad')).toThrow("bad:1: bad number 'x'");
  });

  it("reads glibc's mtrace output, turning addresses into dense IDs", () => {
    const m = ['= Start', '@ ./a.out:[0x4005d4] + 0x1a2b010 0x64', '@ ./a.out:[0x4005e2] < 0x1a2b010', '@ ./a.out:[0x4005e2] > 0x1a2b4a0 0xc8', '@ ./a.out:[0x4005f0] - 0x1a2b4a0', '@ ./a.out:[0x4005f0] - 0xdead', '= End'].join('\n');
    const ev = parseMtrace(m);
    expect(Array.from(ev.op.subarray(0, ev.length))).toEqual([OP_MALLOC, OP_REALLOC, OP_FREE]);
    expect([ev.y[0], ev.z[1]]).toEqual([100, 200]);
    expect(wellFormed(ev)).toBe(true);
  });
});
