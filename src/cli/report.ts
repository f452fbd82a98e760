// `uffd-malloc report`: run the sweep and write one self-contained HTML page.
import { writeFileSync } from 'node:fs';
import { renderReport } from '../report/html.js';
import { intOption, parseArgs, profileOption } from './args.js';
import { allocatorsFrom, sweep, threadOptions, workloadsFrom } from './bench.js';

export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'out', 'threads', 'cpus', 'profile'], ['defrag']);
  const profile = profileOption(args);
  const specs = workloadsFrom(args.values.get('workload'), args.values.get('trace'), intOption(args, 'seed', 1), args.values.has('events') ? intOption(args, 'events', 0, 1) : undefined);
  const results = await sweep(specs, allocatorsFrom(args.values.get('allocator')), { keepSamples: true, defrag: args.flags.has('defrag'), ...threadOptions(args), profile });
  const out = args.values.get('out')?.at(-1) ?? 'uffd-malloc-report.html';
  writeFileSync(out, renderReport(results));
  process.stdout.write(`wrote ${out} (${results.length} runs)\n`);
  return 0;
}
