// `uffd-malloc calibrate [--out FILE] [--quick] [--name N]`: write a profile for this machine's kernel.
import { writeFileSync } from 'node:fs';
import { calibrateCosts, calibrateQuick } from '../experiment/calibrate.js';
import { recorderBinary } from '../experiment/recorder.js';
import { checkWritable, parseArgs, UsageError } from './args.js';
import { Progress } from './progress.js';

export function calibrateCommand(argv: string[]): number {
  const args = parseArgs(argv, ['out', 'name'], ['quick']);
  if (args.positional.length) throw new UsageError(`calibrate takes no words, not '${args.positional[0]}'`);
  const out = args.values.get('out')?.at(-1);
  // the output path is checked before minutes of measuring
  if (out) checkWritable(out);
  const { profile: probed, mismatches } = calibrateQuick({ name: args.values.get('name')?.at(-1) });
  let profile = probed;
  if (!args.flags.has('quick')) {
    const bar = new Progress('measuring costs');
    profile = calibrateCosts(probed, process.platform === 'linux' ? recorderBinary() : null, (f) => bar.update(f));
    bar.done();
  }
  const text = JSON.stringify(profile, null, 2) + '\n';
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
  const err = process.stderr;
  for (const n of profile.notProbed ?? []) err.write(`calibrate: not probed: ${n}\n`);
  for (const m of mismatches) err.write(`calibrate: the simulator does not reproduce probe ${m.probe} under this profile:\n  real: ${m.real.replace(/\n/g, ' | ')}\n  sim:  ${m.simulated.replace(/\n/g, ' | ')}\n`);
  if (out) err.write(`wrote ${out} (profile ${profile.name})\n`);
  return 0;
}
