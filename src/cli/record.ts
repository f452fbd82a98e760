// `uffd-malloc record [--out FILE] [--name N] [--mtrace] -- COMMAND [ARGS...]`: trace a program's
// malloc-family calls into a gzipped malloc-trace v1 file, ready for `replay`.
import { record } from '../experiment/record.js';
import { checkWritable, parseArgs, UsageError } from './args.js';

export function recordCommand(argv: string[]): number {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new UsageError('usage: uffd-malloc record [--out FILE] [--name N] [--mtrace] -- COMMAND [ARGS...]');
  const args = parseArgs(argv.slice(0, dash), ['out', 'name'], ['mtrace']);
  const command = argv.slice(dash + 1);
  const name = args.values.get('name')?.at(-1);
  const out = args.values.get('out')?.at(-1) ?? `${name ?? command[0].split('/').pop()}.trace.gz`;
  checkWritable(out);
  const r = record(command, out, { name, forceMtrace: args.flags.has('mtrace') });
  const s = r.stats;
  process.stderr.write(
    `${r.via === 'mtrace' ? 'recorded with glibc mtrace (libc_malloc_debug.so.0; the tracer needs a C compiler), converted: it sees only programs that call mtrace() themselves\n' : ''}` +
      `wrote ${r.file}: ${s.events.toLocaleString('en-US')} calls (a=${s.a} c=${s.c} m=${s.m} r=${s.r} f=${s.f}), ${s.threads} thread(s), peak ${(s.peak_live_bytes / 2 ** 20).toFixed(1)} MiB live; stats in ${r.statsFile}\n` +
      (r.status ? `the program exited with status ${r.status}\n` : ''),
  );
  return r.status === 0 ? 0 : 1;
}
