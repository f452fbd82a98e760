// `uffd-malloc maps`: /proc/self/maps of the simulated process after a run.
import { runJob } from '../experiment/jobs.js';
import { parseArgs, profileOption, UsageError } from './args.js';
import { allocatorsFrom, workloadSpecs } from './bench.js';

export async function mapsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'profile'], ['smaps', 'strict']);
  const profile = profileOption(args);
  const specs = workloadSpecs(args);
  const allocators = allocatorsFrom(args.values.get('allocator') ?? ['uffd']);
  if (specs.length !== 1 || allocators.length !== 1) throw new UsageError('maps takes one workload and one allocator');
  await runJob({ workload: specs[0], allocator: allocators[0], profile, strict: args.flags.has('strict') }, {
    onEnd: (proc) => process.stdout.write(proc.readProc(args.flags.has('smaps') ? '/proc/self/smaps' : '/proc/self/maps')),
  });
  return 0;
}
