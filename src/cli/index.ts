#!/usr/bin/env node
// The uffd-malloc command line: one file per command, wired here.
import { TraceFormatError } from '../workloads/trace.js';
import { UsageError } from './args.js';
import { benchCommand, replayCommand } from './bench.js';
import { calibrateCommand } from './calibrate.js';
import { contentionCommand } from './contention.js';
import { demoCommand } from './demo.js';
import { mapsCommand } from './maps.js';
import { mergeCommand } from './merge.js';
import { recordCommand } from './record.js';
import { reportCommand } from './report.js';
import { scriptCommand } from './script.js';
import { threadsCommand } from './threads.js';
import { verifyCommand } from './verify.js';

const COMMANDS: Record<string, { run: (args: string[]) => number | Promise<number>; help: string }> = {
  bench: {
    run: benchCommand,
    help: 'workloads x allocators: [--workload W]... [--trace FILE]... [--allocator A]... [--seed N] [--events N] [--threads N[,N...]] [--cpus N] [--defrag] [--strict] [--profile P] [--real LIB]... [--shard I/N|auto/N --out DIR] [--keep-bytes] [--uffd-heap-gb N] [--json|--csv]',
  },
  replay: { run: replayCommand, help: 'replay TRACE [--allocator A]... [--threads N] [--cpus N] [--strict] [--profile P] [--real LIB]... [--shard I/N|auto/N --out DIR] [--json|--csv]: a malloc trace (malloc-trace v1 or mtrace, .gz ok), streamed; --strict rejects protocol errors' },
  maps: { run: mapsCommand, help: '[--workload W|--trace FILE] [--allocator A] [--smaps] [--strict] [--profile P]: /proc/self/maps after a run' },
  report: { run: reportCommand, help: '[--out FILE] [--workload W]... [--trace FILE]... [--allocator A]... [--profile P] [--real LIB]... [--defrag] [--threads 1,2,...]: one HTML page with charts' },
  threads: { run: threadsCommand, help: '[--workload W|--trace FILE] [--allocator A]... [--threads 1,2,...] [--profile P] [--shard I/N --out DIR]: the 1-64 thread experiment' },
  contention: { run: contentionCommand, help: '[--mode M]... [--json] [--real] [--profile P]: the two-thread experiment of contention.md, simulated beside Linux 6.18' },
  script: { run: scriptCommand, help: 'script FILE [--profile P]: run a kernel-oracle scenario on the simulator' },
  verify: { run: verifyCommand, help: 'verify TRACE --allocator A [--profile P] [--every N] [--timing-runs N] [--json]: the run on the simulator and, in lockstep, on the live kernel, compared' },
  record: { run: recordCommand, help: '[--out FILE] [--name N] [--mtrace] -- COMMAND [ARGS...]: trace a program\'s malloc calls (a preloaded tracer) into a malloc-trace v1 file' },
  merge: { run: mergeCommand, help: 'merge DIR... [--json|--csv] [--report FILE]: the shard files of a sweep (--shard I/N --out DIR) as one table, JSON or report' },
  calibrate: { run: calibrateCommand, help: '[--out FILE] [--quick] [--name N]: a profile (kernel settings and costs) for this machine, probed with the recorder' },
  demo: { run: demoCommand, help: '[--profile P]: map and touch memory, print /proc/self/maps and smaps_rollup' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.help}`);
  return `usage: uffd-malloc COMMAND [ARGS]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`uffd-malloc: unknown command '${cmd.slice(0, 80)}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`usage: uffd-malloc ${c.help.startsWith(cmd + ' ') ? '' : cmd + ' '}${c.help}\n`);
    return 0;
  }
  return c.run(rest);
}

// a reader that went away (`uffd-malloc maps | head -1`) ends the output, quietly
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`uffd-malloc: ${err instanceof Error ? err.message : String(err)}\n`);
    // bad input (options, a malformed trace) is 2; anything else is a failure of ours, 1
    process.exitCode = err instanceof UsageError || err instanceof TraceFormatError ? 2 : 1;
  },
);
