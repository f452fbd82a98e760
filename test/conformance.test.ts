// Replays recorded real-kernel scenarios against the simulator: the shared oracle's set and the
// project's own suite (test/conformance/), byte for byte after the first line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/script/run.js';

const SHARED = join(import.meta.dirname, '../../shared/kernel-oracle');
const OWN = join(import.meta.dirname, 'conformance');

function body(out: string): string {
  return out.split('\n').slice(1).join('\n');
}

function suite(dir: string, label: string) {
  const scen = join(dir, 'scenarios');
  if (!existsSync(scen)) return;
  describe(label, () => {
    for (const f of readdirSync(scen).filter((x) => x.endsWith('.txt')).sort()) {
      const name = f.replace(/\.txt$/, '');
      const text = readFileSync(join(scen, f), 'utf8');
      const expected = join(dir, 'expected', `${name}.out`);
      it(name, () => {
        expect(existsSync(expected), `${name} has a recording`).toBe(true);
        expect(body(runScenario(text))).toBe(body(readFileSync(expected, 'utf8')));
      });
    }
  });
}

suite(SHARED, 'shared kernel-oracle scenarios');
suite(OWN, 'project conformance suite');
