// The real kernel's figures for the benchmarks: built and run from the project's recorder
// (tools/recorder.c, `--bench`) when a C compiler is present.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ns per operation on this machine's kernel, by benchmark name; empty when unavailable. */
export function realKernelNs(names: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const bin = join(ROOT, 'tools', 'bin', 'recorder');
  try {
    if (!existsSync(bin)) {
      mkdirSync(dirname(bin), { recursive: true });
      execFileSync('cc', ['-O2', '-o', bin, join(ROOT, 'tools', 'recorder.c'), '-lpthread'], { stdio: 'pipe' });
    }
    const text = execFileSync(bin, ['--bench', ...names], { encoding: 'utf8', timeout: 120_000 });
    for (const line of text.trim().split('\n')) {
      const [name, ns] = line.split(' ');
      if (Number(ns) > 0) out.set(name, Number(ns));
    }
  } catch (e) {
    process.stderr.write(`(real-kernel figures unavailable: ${(e as Error).message.split('\n')[0]})\n`);
  }
  return out;
}

/** Print simulator ops/s beside the real kernel's, one row per benchmark. */
export function printComparison(rows: { name: string; simNs: number }[], real: Map<string, number>): void {
  const fmt = (ns: number | undefined) => (ns ? Math.round(1e9 / ns).toLocaleString('en-US') : '-');
  const table = rows.map((r) => {
    const k = real.get(r.name);
    return {
      benchmark: r.name,
      'simulator ops/s': fmt(r.simNs),
      'real kernel ops/s': fmt(k),
      'simulator / kernel': k ? (k / r.simNs).toFixed(2) + 'x' : '-',
    };
  });
  console.table(table);
}
