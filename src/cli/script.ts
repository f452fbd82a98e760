// `uffd-malloc script FILE [--profile P]`: run a scenario on the simulator and print the runner's
// format. The whole file is checked first: a malformed line is an error naming FILE:LINE and
// nothing runs. An operation the simulator cannot carry out keeps the output printed before it.
import { readFileSync } from 'node:fs';
import { checkScenario } from '../script/check.js';
import { runScenario, ScenarioError } from '../script/run.js';
import { parseArgs, profileOption, UsageError } from './args.js';

export function scriptCommand(argv: string[]): number {
  const args = parseArgs(argv, ['profile'], [], 1);
  const profile = profileOption(args);
  const file = args.positional[0];
  if (!file || args.positional.length > 1) throw new UsageError('usage: uffd-malloc script FILE [--profile P]   (FILE of - reads standard input)');
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const problems = checkScenario(text);
  if (problems.length) {
    const name = file === '-' ? '<stdin>' : file;
    for (const p of problems.slice(0, 20)) process.stderr.write(`${name}:${p.line}: ${p.message}\n`);
    if (problems.length > 20) process.stderr.write(`${name}: ${problems.length - 20} more\n`);
    return 2;
  }
  try {
    process.stdout.write(runScenario(text, { settings: profile.kernel.settings }));
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    process.stdout.write(e.output);
    process.stderr.write(`uffd-malloc script: ${file}: ${e.message}\n`);
    return 2;
  }
  return 0;
}
