// `uffd-malloc merge DIR... [--json|--csv] [--report FILE]`: the shards of a sweep, put back
// together: the same table, JSON or report the unsharded run prints.
import { writeFileSync } from 'node:fs';
import { DEFAULT_PROFILE } from '../experiment/profile.js';
import { renderReport } from '../report/html.js';
import { checkWritable, exclusive, parseArgs, profileOption, UsageError } from './args.js';
import { print } from './bench.js';
import { mergeShards } from './shard.js';

export function mergeCommand(argv: string[]): number {
  const args = parseArgs(argv, ['report', 'profile'], ['json', 'csv'], 1000);
  exclusive(args, 'json', 'csv');
  if (!args.positional.length) throw new UsageError('usage: uffd-malloc merge DIR... [--json|--csv] [--report FILE]');
  const report = args.values.get('report')?.at(-1);
  if (report) checkWritable(report);
  const results = mergeShards(args.positional);
  if (report) {
    writeFileSync(report, renderReport(results));
    process.stderr.write(`wrote ${report} (${results.length} runs)\n`);
  }
  // the profile only names the costs in the table's closing line; the results carry their own
  print(results, args.flags.has('json'), args.flags.has('csv'), args.values.has('profile') ? profileOption(args) : DEFAULT_PROFILE);
  return 0;
}
