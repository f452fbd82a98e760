// `uffd-malloc maps`: /proc/self/maps of the simulated process after a run.
import { loadWorkload } from '../experiment/jobs.js';
import { runOne } from '../experiment/run.js';
import { parseArgs, profileOption, UsageError } from './args.js';
import { allocatorsFrom, workloadSpecs } from './bench.js';

export function mapsCommand(argv: string[]): number {
  const args = parseArgs(argv, ['workload', 'allocator', 'seed', 'events', 'trace', 'profile'], ['smaps']);
  const profile = profileOption(args);
  const specs = workloadSpecs(args);
  const allocators = allocatorsFrom(args.values.get('allocator') ?? ['uffd']);
  if (specs.length !== 1 || allocators.length !== 1) throw new UsageError('maps takes one workload and one allocator');
  runOne(loadWorkload(specs[0]), allocators[0], {
    profile,
    onEnd: (proc) => process.stdout.write(proc.readProc(args.flags.has('smaps') ? '/proc/self/smaps' : '/proc/self/maps')),
  });
  return 0;
}
