// The real kernel's figures for the benchmarks: run from the project's recorder
// (tools/recorder.c, `--bench`, built by src/experiment/recorder.ts) when a C compiler is present.
import { execFileSync } from 'node:child_process';
import { recorderBinary } from '../src/experiment/recorder.js';

/** ns per operation on this machine's kernel, by benchmark name; empty when unavailable. */
export function realKernelNs(names: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const bin = recorderBinary();
  if (!bin) {
    process.stderr.write('(real-kernel figures unavailable: no C compiler to build tools/recorder.c)\n');
    return out;
  }
  try {
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
