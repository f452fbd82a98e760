// `uffd-malloc script FILE`: run a scenario on the simulator and print the runner's format.
import { readFileSync } from 'node:fs';
import { runScenario } from '../script/run.js';
import { parseArgs, profileOption } from './args.js';

export function scriptCommand(argv: string[]): number {
  const args = parseArgs(argv, ['profile'], []);
  const profile = profileOption(args);
  const file = args.positional[0];
  if (!file || args.positional.length > 1) {
    process.stderr.write('usage: uffd-malloc script FILE [--profile P]   (FILE of - reads standard input)\n');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    process.stderr.write(`uffd-malloc script: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(runScenario(text, { settings: profile.kernel.settings }));
  return 0;
}
