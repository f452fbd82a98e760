// Kernel profiles: which kernel the simulator models and what its operations cost. A profile is
// data (a JSON file), loaded once and handed to the Kernel and to the cost model; the simulator
// never asks the host anything while it runs. `uffd-malloc calibrate` writes one for the machine
// it runs on (src/experiment/calibrate.ts).
import { readFileSync } from 'node:fs';
import { DEFAULT_SETTINGS, type KernelSettings } from '../mm/kernel.js';
import { type Costs, DEFAULT_COSTS } from './cost-model.js';

export const PROFILE_FORMAT = 'uffd-malloc-profile/2';
/**
 * The first format priced MADV_DONTNEED as one call with its page and flush, and kept the empty
 * call and the per-page zap among the thread costs; it is read by moving those to where /2 has them.
 */
const PROFILE_FORMAT_1 = 'uffd-malloc-profile/1';

/** What a probe found on a live kernel, and how (kept in the profile for the reader). */
export interface ProbeNote {
  value: unknown;
  how: string;
}

export interface Profile {
  format: typeof PROFILE_FORMAT;
  /** Named in every JSON result (`profile`). */
  name: string;
  kernel: {
    /** uname -r of the modelled kernel. */
    release: string;
    settings: KernelSettings;
  };
  costs: Costs;
  /** Set by calibrate: each probed setting with what was seen; absent for the built-in default. */
  probed?: Record<string, ProbeNote>;
  /** Set by calibrate: what could not be probed, and why (those settings keep the default). */
  notProbed?: string[];
}

/** The built-in default: Linux 6.18 mainline as recorded in ../shared/kernel-oracle. */
export const DEFAULT_PROFILE: Profile = {
  format: PROFILE_FORMAT,
  name: 'linux-6.18-mainline',
  kernel: { release: '6.18 (mainline behaviour, as recorded in ../shared/kernel-oracle)', settings: DEFAULT_SETTINGS },
  costs: DEFAULT_COSTS,
};

export class ProfileError extends Error {}

const ENUMS: Partial<Record<keyof KernelSettings, readonly string[]>> = {
  thpEnabled: ['always', 'madvise', 'never'],
  hugeZeroWrite: ['thp', 'split'],
  overcommitMemory: ['guess', 'always'],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown, where: string, file: string): Record<string, number> {
  if (!isRecord(v)) throw new ProfileError(`${file}: ${where} must be an object of numbers`);
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new ProfileError(`${file}: ${where}.${k} must be a number of at least 0, not ${JSON.stringify(n)}`);
  }
  return v as Record<string, number>;
}

/** Kernel settings from JSON: every key known, every value of the right type; the rest default. */
export function parseSettings(v: unknown, file: string): KernelSettings {
  if (v === undefined) return { ...DEFAULT_SETTINGS };
  if (!isRecord(v)) throw new ProfileError(`${file}: kernel.settings must be an object`);
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const [k, x] of Object.entries(v)) {
    const key = k as keyof KernelSettings;
    if (!(k in DEFAULT_SETTINGS)) throw new ProfileError(`${file}: unknown kernel setting '${k}' (known: ${Object.keys(DEFAULT_SETTINGS).join(', ')})`);
    const want = typeof DEFAULT_SETTINGS[key];
    const allowed = ENUMS[key];
    const bad =
      typeof x !== want ||
      (allowed && !allowed.includes(x as string)) ||
      (want === 'number' && (!Number.isInteger(x) || (x as number) < 0));
    if (bad) throw new ProfileError(`${file}: kernel setting '${k}' must be ${allowed ? allowed.join(' or ') : want === 'number' ? 'a whole number of at least 0' : `a ${want}`}, not ${JSON.stringify(x)}`);
    out[k] = x;
  }
  return out as unknown as KernelSettings;
}

/** A profile from parsed JSON; what it leaves out comes from the default. Names the file in every error. */
export function parseProfile(json: unknown, file = 'profile'): Profile {
  if (!isRecord(json)) throw new ProfileError(`${file}: a profile is a JSON object`);
  if (json.format === PROFILE_FORMAT_1) json = fromFormat1(json);
  if (!isRecord(json)) throw new ProfileError(`${file}: a profile is a JSON object`);
  if (json.format !== PROFILE_FORMAT) throw new ProfileError(`${file}: format must be '${PROFILE_FORMAT}', not ${JSON.stringify(json.format)}`);
  if (typeof json.name !== 'string' || !json.name) throw new ProfileError(`${file}: name must be a non-empty string`);
  const kernel = json.kernel ?? {};
  if (!isRecord(kernel)) throw new ProfileError(`${file}: kernel must be an object`);
  if (kernel.release !== undefined && typeof kernel.release !== 'string') throw new ProfileError(`${file}: kernel.release must be a string`);
  const c = json.costs ?? {};
  if (!isRecord(c)) throw new ProfileError(`${file}: costs must be an object`);
  const d = DEFAULT_COSTS;
  const costs: Costs = {
    machine: c.machine === undefined ? d.machine : String(c.machine),
    syscallNs: { ...d.syscallNs, ...(c.syscallNs === undefined ? {} : numbers(c.syscallNs, 'costs.syscallNs', file)) },
    faultNs: { ...d.faultNs, ...(c.faultNs === undefined ? {} : numbers(c.faultNs, 'costs.faultNs', file)) },
    work: { ...d.work, ...(c.work === undefined ? {} : numbers(c.work, 'costs.work', file)) },
    thread: { ...d.thread, ...(c.thread === undefined ? {} : numbers(c.thread, 'costs.thread', file)) },
    userCallNs: c.userCallNs === undefined ? d.userCallNs : numbers({ userCallNs: c.userCallNs }, 'costs', file).userCallNs,
    memsetNsPerByte: c.memsetNsPerByte === undefined ? d.memsetNsPerByte : numbers({ memsetNsPerByte: c.memsetNsPerByte }, 'costs', file).memsetNsPerByte,
  };
  for (const group of ['work', 'thread'] as const) {
    for (const k of Object.keys(c[group] ?? {})) if (!(k in d[group])) throw new ProfileError(`${file}: unknown cost costs.${group}.${k}`);
  }
  return {
    format: PROFILE_FORMAT,
    name: json.name,
    kernel: { release: (kernel.release as string | undefined) ?? 'unknown', settings: parseSettings(kernel.settings, file) },
    costs,
    ...(isRecord(json.probed) ? { probed: json.probed as Record<string, ProbeNote> } : {}),
    ...(Array.isArray(json.notProbed) ? { notProbed: json.notProbed.map(String) } : {}),
  };
}

/** A format-1 profile as format 2 (anything malformed is left for parseProfile to name). */
function fromFormat1(json: Record<string, unknown>): unknown {
  const c = json.costs;
  if (!isRecord(c) || !isRecord(c.thread)) return { ...json, format: PROFILE_FORMAT };
  const { madviseEmptyNs, zapPageNs, ...thread } = c.thread;
  const syscallNs = isRecord(c.syscallNs) ? { ...c.syscallNs } : {};
  const work: Record<string, unknown> = {};
  if (typeof zapPageNs === 'number') work.zapPageNs = zapPageNs;
  if (typeof madviseEmptyNs === 'number') {
    // format 1's madvise was a populated page's DONTNEED: the call, the zap and the flush
    const populated = typeof syscallNs.madvise === 'number' ? syscallNs.madvise : madviseEmptyNs;
    work.tlbFlushNs = Math.max(0, populated - madviseEmptyNs - (typeof zapPageNs === 'number' ? zapPageNs : DEFAULT_COSTS.work.zapPageNs));
    syscallNs.madvise = madviseEmptyNs;
  }
  return { ...json, format: PROFILE_FORMAT, costs: { ...c, syscallNs, work, thread } };
}

export function loadProfile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`cannot read profile ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(`${file}: not JSON: ${(e as Error).message}`);
  }
  return parseProfile(json, file);
}

/** The environment variable naming a profile file when no --profile is given. */
export const PROFILE_ENV = 'UFFD_MALLOC_PROFILE';

/** The profile a command runs under: --profile FILE, else $UFFD_MALLOC_PROFILE, else the default. */
export function resolveProfile(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Profile {
  const f = file ?? env[PROFILE_ENV];
  return f ? loadProfile(f) : DEFAULT_PROFILE;
}
