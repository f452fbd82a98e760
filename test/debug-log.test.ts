// Tracing through `debug`: a namespace enabled or disabled while the program runs takes effect at
// once, though the kernel keeps the answer between changes (DebugLog).
import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { Process } from '../src/mm/process.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../src/mm/uapi.js';

const saved = { log: createDebug.log, ns: createDebug.disable() };

afterEach(() => {
  createDebug.log = saved.log;
  createDebug.enable(saved.ns);
});

describe('DebugLog', () => {
  it('prints mm:vma lines only while the namespace is enabled, however often it changes', () => {
    const lines: string[] = [];
    createDebug.log = (...args: unknown[]) => lines.push(format(...args));
    const p = new Process();
    const map = () => p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    createDebug.disable();
    const a = map();
    expect(lines).toEqual([]);
    createDebug.enable('mm:vma');
    p.munmap(a, 4096);
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/mm:vma remove Vma\(/);
    createDebug.enable('uffd:*');
    map();
    expect(lines.length).toBe(1);
    createDebug.enable('mm:*');
    map();
    expect(lines.length).toBe(2);
    expect(lines[1]).toMatch(/mm:vma (insert|merge new)/);
  });
});
