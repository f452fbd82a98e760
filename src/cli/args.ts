// A small argument parser: `--name value`, `--flag`, repeatable options, and positionals.
import { type Profile, ProfileError, resolveProfile } from '../experiment/profile.js';

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

export class UsageError extends Error {}

/** Parse argv against the option names that take a value and those that are flags. */
export function parseArgs(argv: string[], valued: string[], flags: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split('=', 2);
    if (flags.includes(name)) out.flags.add(name);
    else if (valued.includes(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.values.set(name, [...(out.values.get(name) ?? []), v]);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return out;
}

export function intOption(args: ParsedArgs, name: string, dflt: number, min = 0): number {
  const v = args.values.get(name)?.at(-1);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number of at least ${min}, not '${v}'`);
  return n;
}

/** --profile FILE (else $UFFD_MALLOC_PROFILE, else the built-in default), loaded before any work. */
export function profileOption(args: ParsedArgs): Profile {
  try {
    return resolveProfile(args.values.get('profile')?.at(-1));
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
}
