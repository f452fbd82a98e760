// The scenario language of ../shared/kernel-oracle (README.md there): one operation per line,
// `#` starts a comment, numbers are C literals with an optional K/M/G suffix.

export interface ScenarioLine {
  /** 1-based operation number (blank and comment lines are not counted). */
  index: number;
  /** The line as written, comment and trailing blanks removed: what the output echoes. */
  text: string;
  op: string;
  args: string[];
}

/** strtoull(s, &end, 0) followed by the runner's K/M/G suffix: hex, octal and decimal. */
export function parseNumber(s: string | undefined): number {
  if (s === undefined) return 0;
  let t = s.trim();
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let base = 10;
  if (/^0[xX][0-9a-fA-F]/.test(t)) {
    base = 16;
    t = t.slice(2);
  } else if (/^0[0-7]/.test(t)) {
    base = 8;
  }
  const digits = base === 16 ? /^[0-9a-fA-F]+/ : base === 8 ? /^[0-7]+/ : /^[0-9]+/;
  const m = digits.exec(t);
  let v = m ? parseInt(m[0], base) : 0;
  const rest = m ? t.slice(m[0].length) : t;
  const suffix = rest[0]?.toUpperCase();
  if (suffix === 'K') v *= 1024;
  else if (suffix === 'M') v *= 1024 * 1024;
  else if (suffix === 'G') v *= 1024 * 1024 * 1024;
  return neg ? -v : v;
}

export function parseScenario(source: string): ScenarioLine[] {
  const out: ScenarioLine[] = [];
  for (const raw of source.split('\n')) {
    const line = parseScenarioLine(raw, out.length + 1);
    if (line) out.push(line);
  }
  return out;
}

/** One line of a scenario as the index-th operation; null for a blank or comment-only line. */
export function parseScenarioLine(raw: string, index: number): ScenarioLine | null {
  const hash = raw.indexOf('#');
  const text = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/\r$/, '').replace(/[ \t]+$/, '');
  const tokens = text.split(/[ \t]+/).filter((t) => t.length > 0);
  if (tokens.length === 0) return null;
  return { index, text, op: tokens[0], args: tokens.slice(1) };
}

export function hasWord(args: string[], w: string): boolean {
  return args.includes(w);
}
