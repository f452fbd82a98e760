// `uffd-malloc verify TRACE --allocator A [--profile P] [--every N] [--timing-runs N] [--json]`:
// the allocator's run on the simulator, and every kernel operation and memory write of it on the
// live kernel, compared.
import { Unverifiable, verify } from '../experiment/verify.js';
import { PROFILE_ENV } from '../experiment/profile.js';
import { readTrace } from '../workloads/trace.js';
import { intOption, parseArgs, profileOption, UsageError } from './args.js';
import { allocatorsFrom } from './bench.js';

export function verifyCommand(argv: string[]): number {
  const args = parseArgs(argv, ['allocator', 'profile', 'every', 'timing-runs'], ['json'], 1);
  // without --profile (or UFFD_MALLOC_PROFILE) verify probes the kernel it compares against
  const profile = args.values.has('profile') || process.env[PROFILE_ENV] ? profileOption(args) : undefined;
  if (args.positional.length !== 1) throw new UsageError('usage: uffd-malloc verify TRACE --allocator A [--profile P] [--every N] [--timing-runs N] [--json]');
  const allocators = allocatorsFrom(args.values.get('allocator') ?? ['uffd']);
  if (allocators.length !== 1) throw new UsageError('verify takes one --allocator');
  const every = intOption(args, 'every', 100_000, 1, 100_000_000);
  const timingRuns = intOption(args, 'timing-runs', 3, 1, 20);
  const w = readTrace(args.positional[0]);
  let r;
  try {
    r = verify(w, { allocator: allocators[0], profile, every, timingRuns });
  } catch (e) {
    if (e instanceof Unverifiable) {
      process.stderr.write(`uffd-malloc verify: ${allocators[0]} cannot be verified on a real kernel: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.flags.has('json')) {
    const { lines: _lines, ...out } = r;
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return r.identical ? 0 : 1;
  }
  const d = r.firstDivergence;
  process.stdout.write(
    d
      ? `${r.trace} / ${r.allocator}: first divergence at event ${d.event} (log line ${d.line}: ${d.operation})\n  real: ${d.real}\n  sim:  ${d.simulated}\n`
      : `${r.trace} / ${r.allocator}: identical through the end: ${r.events.toLocaleString('en-US')} events, ${r.checkpoints} checkpoints (VMA layout, RSS, AnonHugePages, mmap_lock counts), ${r.lines.toLocaleString('en-US')} kernel operations and writes\n`,
  );
  process.stdout.write(`kernel time: live ${(r.kernelNs / 1e6).toFixed(1)} ms, simulated ${(r.simulatedKernelNs / 1e6).toFixed(1)} ms (profile ${r.profile}, costs of ${r.costsMachine})\n`);
  return r.identical ? 0 : 1;
}
