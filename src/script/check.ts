// The scenario language's grammar, checked before anything runs: every operation known, every
// argument present and of its kind (a C number literal with an optional K/M/G suffix, a name, or
// one of the operation's words). The real runner would read a missing number as 0; here a
// malformed line is an error naming the file and line, and nothing runs.
import * as U from '../mm/uapi.js';
import { UFFD_FEATURES } from '../mm/userfaultfd/uapi.js';
import { parseScenario } from './parse.js';

/** An argument: a number, a name (memfd), or one word of a set. */
type Arg = 'num' | 'name' | readonly string[];

interface OpSyntax {
  /** Positional arguments, all required. */
  args: Arg[];
  /** Words that may follow in any order; a word followed by arguments takes them. */
  options?: Record<string, Arg[]>;
  /** Words that may repeat after the positionals (uffd features, register modes). */
  rest?: readonly string[];
  /** At least one word of rest is required. */
  restRequired?: boolean;
}

/** In a word list: a number is accepted too (the recorder takes raw PROT_* and MADV_* values). */
const OR_NUMBER = '#number';
const PROT = ['none', '---', 'r', 'w', 'x', 'rw', 'rx', 'wx', 'rwx', 'r--', 'rw-', 'r-x', '-w-', '--x', OR_NUMBER];
/** The advice words and their MADV_* values. */
export const ADVICE: Record<string, number> = {
  dontneed: U.MADV_DONTNEED,
  free: U.MADV_FREE,
  hugepage: U.MADV_HUGEPAGE,
  nohugepage: U.MADV_NOHUGEPAGE,
  collapse: U.MADV_COLLAPSE,
  guard_install: U.MADV_GUARD_INSTALL,
  guard_remove: U.MADV_GUARD_REMOVE,
  populate_read: U.MADV_POPULATE_READ,
  populate_write: U.MADV_POPULATE_WRITE,
  remove: U.MADV_REMOVE,
  willneed: U.MADV_WILLNEED,
  // advice that only changes VmFlags (the project's recorder knows them; the shared runner does not)
  normal: U.MADV_NORMAL,
  random: U.MADV_RANDOM,
  sequential: U.MADV_SEQUENTIAL,
  dontfork: U.MADV_DONTFORK,
  dofork: U.MADV_DOFORK,
  dontdump: U.MADV_DONTDUMP,
  dodump: U.MADV_DODUMP,
  wipeonfork: U.MADV_WIPEONFORK,
  keeponfork: U.MADV_KEEPONFORK,
  mergeable: U.MADV_MERGEABLE,
  unmergeable: U.MADV_UNMERGEABLE,
  cold: U.MADV_COLD,
  pageout: U.MADV_PAGEOUT,
};
const ADVICE_ARG = [...Object.keys(ADVICE), OR_NUMBER];

const RANGE: Arg[] = ['num', 'num'];

export const SYNTAX: Record<string, OpSyntax> = {
  mmap: { args: ['num', 'num', PROT], options: { shared: [], noreserve: [], populate: [], fixed: [], memfd: ['name', 'num'] } },
  munmap: { args: RANGE },
  mprotect: { args: [...RANGE, PROT] },
  mremap: { args: ['num', 'num', 'num'], options: { maymove: [], dontunmap: [], fixed: ['num'] } },
  madvise: { args: [...RANGE, ADVICE_ARG] },
  memfd: { args: ['name', 'num'], options: { hugetlb: [] } },
  punch: { args: ['name', 'num', 'num'] },
  pwrite: { args: ['name', 'num', 'num', 'num'] },
  uffd: { args: [], rest: ['user_mode_only', ...Object.keys(UFFD_FEATURES)] },
  monitor: { args: [['none', 'zero', 'copy', 'continue']], options: {} },
  uffd_register: { args: RANGE, rest: ['missing', 'wp', 'minor', OR_NUMBER], restRequired: true },
  uffd_unregister: { args: RANGE },
  uffd_zeropage: { args: RANGE, options: { dontwake: [] } },
  uffd_copy: { args: [...RANGE, 'num'], options: { wp: [] } },
  uffd_move: { args: ['num', 'num', 'num'], options: { allow_src_holes: [] } },
  uffd_continue: { args: RANGE },
  uffd_wp: { args: [...RANGE, ['on', 'off']] },
  uffd_poison: { args: RANGE },
  read: { args: ['num'] },
  write: { args: ['num', 'num'] },
  fill: { args: [...RANGE, 'num'] },
  kread: { args: RANGE },
  kwrite: { args: RANGE },
  maps: { args: [] },
  count: { args: [] },
  rss: { args: [] },
  events: { args: [] },
  locks: { args: [] },
  elapsed: { args: [] },
  faults: { args: [] },
};

/** A C integer literal (decimal, 0x hex, 0 octal), optionally signed, with an optional K/M/G. */
const NUMBER = /^[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[kKmMgG]?$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkArg(kind: Arg, tok: string | undefined, what: string): string | null {
  if (tok === undefined) return `missing ${what}`;
  if (kind === 'num') return NUMBER.test(tok) ? null : `${what} must be a number (C literal, optional K/M/G), not '${short(tok)}'`;
  if (kind === 'name') return NAME.test(tok) ? null : `${what} must be a name, not '${short(tok)}'`;
  if (kind.includes(tok) || (kind.includes(OR_NUMBER) && NUMBER.test(tok))) return null;
  return `${what} must be one of ${kind.filter((w) => w !== OR_NUMBER).join(' ')}${kind.includes(OR_NUMBER) ? ' or a number' : ''}, not '${short(tok)}'`;
}

function short(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
}

/** The errors of one line's operation and arguments, or null when it is well formed. */
export function checkLine(op: string, args: string[]): string | null {
  const syn = SYNTAX[op];
  if (!syn) return `unknown operation '${short(op)}' (known: ${Object.keys(SYNTAX).join(' ')})`;
  for (let i = 0; i < syn.args.length; i++) {
    const e = checkArg(syn.args[i], args[i], `argument ${i + 1}`);
    if (e) return `${op}: ${e}`;
  }
  // monitor copy takes the byte to copy
  let i = syn.args.length;
  if (op === 'monitor' && args[0] === 'copy') {
    const e = checkArg('num', args[1], 'the byte');
    if (e) return `monitor copy: ${e}`;
    i++;
  }
  let restSeen = 0;
  for (; i < args.length; i++) {
    const w = args[i];
    const opt = syn.options?.[w];
    if (opt) {
      for (let k = 0; k < opt.length; k++) {
        const e = checkArg(opt[k], args[i + 1 + k], `the argument of ${w}`);
        if (e) return `${op}: ${e}`;
      }
      i += opt.length;
    } else if (syn.rest?.includes(w) || (syn.rest?.includes(OR_NUMBER) && NUMBER.test(w))) restSeen++;
    else return `${op}: unexpected '${short(w)}'`;
  }
  if (syn.restRequired && !restSeen) return `${op}: needs one of ${syn.rest!.filter((w) => w !== OR_NUMBER).join(' ')}`;
  return null;
}

export interface ScenarioProblem {
  /** 1-based line in the file (not the operation number). */
  line: number;
  message: string;
}

/** Every malformed line of a scenario's text. */
export function checkScenario(source: string): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  const lines = source.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const [l] = parseScenario(lines[n]);
    if (!l) continue;
    const e = checkLine(l.op, l.args);
    if (e) problems.push({ line: n + 1, message: e });
  }
  return problems;
}
