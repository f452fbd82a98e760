// `uffd-malloc script FILE`: run a scenario on the simulator and print the runner's format.
import { readFileSync } from 'node:fs';
import { runScenario } from '../script/run.js';

export function scriptCommand(args: string[]): number {
  const file = args[0];
  if (!file) {
    process.stderr.write('usage: uffd-malloc script FILE   (FILE of - reads standard input)\n');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    process.stderr.write(`uffd-malloc script: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(runScenario(text));
  return 0;
}
