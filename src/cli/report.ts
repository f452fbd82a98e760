// `uffd-malloc report`: run the sweep and write one self-contained HTML page.
import { writeFileSync } from 'node:fs';
import { renderReport } from '../report/html.js';
import { checkWritable, parseArgs, profileOption } from './args.js';
import { allocatorsFrom, realOption, realRuns, sweep, threadOptions, workloadSpecs } from './bench.js';

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'out', 'threads', 'cpus', 'profile', 'real'], ['defrag']);
  const real = realOption(args);
  const profile = profileOption(args);
  const specs = workloadSpecs(args);
  const out = args.values.get('out')?.at(-1) ?? 'uffd-malloc-report.html';
  checkWritable(out); // before the sweep, not after it
  const results = await sweep(specs, allocatorsFrom(args.values.get('allocator')), { keepSamples: true, defrag: args.flags.has('defrag'), ...threadOptions(args), profile });
  results.push(...(await realRuns(specs, real, threadOptions(args).threads)));
  writeFileSync(out, renderReport(results));
  process.stdout.write(`wrote ${out} (${results.length} runs)\n`);
  return 0;
}
