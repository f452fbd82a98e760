// A small argument parser: `--name value`, `--flag`, repeatable options, and positionals.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Profile, ProfileError, resolveProfile } from '../experiment/profile.js';

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

export class UsageError extends Error {}

/**
 * Parse argv against the option names that take a value and those that are flags; more than
 * `maxPositional` plain words is an error (a stray word is a typo, not something to ignore).
 */
export function parseArgs(argv: string[], valued: string[], flags: string[], maxPositional = 0): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-') && !a.startsWith('--') && a !== '-') throw new UsageError(`unknown option ${a} (options are spelled --name)`);
    if (!a.startsWith('--')) {
      if (out.positional.length >= maxPositional) throw new UsageError(`unexpected word '${a.slice(0, 80)}'`);
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

/** A whole-number option in [min, max]; given twice, the last one counts. */
export function intOption(args: ParsedArgs, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = args.values.get(name)?.at(-1);
  if (v === undefined) return dflt;
  const n = /^[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} takes a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, not '${v.slice(0, 80)}'`);
  }
  return n;
}

/** Flags that cannot go together, such as --json and --csv. */
export function exclusive(args: ParsedArgs, ...names: string[]): void {
  const given = names.filter((n) => args.flags.has(n));
  if (given.length > 1) throw new UsageError(`${given.map((n) => '--' + n).join(' and ')} cannot go together: choose one`);
}

/** Bounds of the experiment options, each with a reason a user can read in the error. */
export const LIMITS = {
  /** Synthetic workloads are built in memory (about 30 bytes an event). */
  events: 20_000_000,
  /** The PRNG is seeded with 32 bits: larger seeds would silently wrap. */
  seed: 2 ** 32 - 1,
  threads: 1024,
  cpus: 1024,
};

/** --profile FILE (else $UFFD_MALLOC_PROFILE, else the built-in default), loaded before any work. */
export function profileOption(args: ParsedArgs): Profile {
  try {
    return resolveProfile(args.values.get('profile')?.at(-1));
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(e.message);
    throw e;
  }
}

/** An output path the command will write at its end, checked before any work (without creating it). */
export function checkWritable(path: string): void {
  try {
    accessSync(existsSync(path) ? path : dirname(resolve(path)), constants.W_OK);
    if (existsSync(path) && statSync(path).isDirectory()) throw new Error('is a directory');
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
  }
}
