// `uffd-malloc contention`: contention.md's two-thread experiment on the simulator, each mode's
// victim slowdown beside the one measured on Linux 6.18 (and, with --real, on this machine's
// kernel, measured by tools/recorder.c).
import { CONTENTION_MODES, contentionTable } from '../experiment/contention.js';
import { parseArgs, profileOption, UsageError } from './args.js';
import { realContention } from '../experiment/recorder.js';

export function contentionCommand(argv: string[]): number {
  const args = parseArgs(argv, ['mode', 'profile'], ['json', 'real']);
  const profile = profileOption(args);
  const modes = args.values.get('mode') ?? CONTENTION_MODES;
  for (const m of modes) if (!CONTENTION_MODES.includes(m)) throw new UsageError(`unknown contention mode '${m}' (known: ${CONTENTION_MODES.join(', ')})`);
  const rows = contentionTable(modes, undefined, profile);
  // --real: the same experiment on this machine's kernel, by the project's recorder
  const real = args.flags.has('real') ? realContention(['idle', ...modes.filter((m) => m !== 'idle')]) : new Map<string, number>();
  if (args.flags.has('real') && !real.size) process.stderr.write('(no C compiler: the real kernel was not measured)\n');
  const here = (m: string) => (real.size ? `${((real.get(m) ?? 0) / (real.get('idle') ?? 1)).toFixed(2)}x` : '-');
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify(rows.map(({ mode, victimNsPerFault, slowdown }) => ({ mode, victimNsPerFault, slowdown, profile: profile.name })), null, 2) + '\n');
    return 0;
  }
  const head = `${'mode'.padEnd(11)}${'victim ns/fault'.padStart(16)}${'slowdown'.padStart(10)}${'Linux 6.18'.padStart(12)}${'this kernel'.padStart(13)}${'flushes'.padStart(9)}`;
  const lines = rows.map(
    (r) =>
      `${r.mode.padEnd(11)}${String(r.victimNsPerFault).padStart(16)}${(r.slowdown.toFixed(2) + 'x').padStart(10)}${(r.realSlowdown.toFixed(2) + 'x').padStart(12)}${here(r.mode).padStart(13)}${String(r.tlbFlushes).padStart(9)}`,
  );
  process.stdout.write([head, ...lines].join('\n') + '\n');
  return 0;
}
