// Find or build the project's native tools with the system compiler: the recorder
// (tools/recorder.c) that runs scenarios and benchmarks on the real kernel, and the native trace
// replayer (tools/replay.c) that replays a trace with a real malloc. The one module that runs them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/cli or dist/src/cli, two or three levels up. */
function root(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'tools', 'recorder.c')) && dirname(d) !== d) d = dirname(d);
  return d;
}

/**
 * tools/bin/NAME built from tools/NAME.c (and the tools/NAME-*.h it includes), rebuilt when a
 * source is newer than the binary (a stale one would not know newer operations); null without
 * a compiler (or a library it links).
 */
function toolBinary(name: string, libs: string[], out = name, flags: string[] = []): string | null {
  const r = root();
  const bin = join(r, 'tools', 'bin', out);
  const sources = readdirSync(join(r, 'tools')).filter((f) => f === `${name}.c` || (f.startsWith(`${name}-`) && f.endsWith('.h')));
  if (existsSync(bin) && sources.every((f) => statSync(join(r, 'tools', f)).mtimeMs <= statSync(bin).mtimeMs)) return bin;
  try {
    mkdirSync(dirname(bin), { recursive: true });
    execFileSync('cc', ['-O2', ...flags, '-o', bin, join(r, 'tools', `${name}.c`), ...libs], { stdio: 'pipe' });
    return bin;
  } catch {
    return null;
  }
}

/** The recorder's path, building it when needed; null without a compiler. */
export function recorderBinary(): string | null {
  return toolBinary('recorder', ['-lpthread']);
}

/** The native trace replayer's path, building it when needed; null without a compiler or zlib's headers. */
export function replayerBinary(): string | null {
  return toolBinary('replay', ['-lz', '-lpthread']);
}

/** The two-thread experiment on this machine's kernel: victim ns per fault by mode. */
export function realContention(modes: string[], seconds = 1): Map<string, number> {
  const out = new Map<string, number>();
  const bin = recorderBinary();
  if (!bin) return out;
  for (const m of modes) {
    const line = execFileSync(bin, ['--contention', m, String(seconds)], { encoding: 'utf8' }).trim().split(' ');
    out.set(m, Number(line[1]));
  }
  return out;
}

/** Run a scenario on this machine's kernel with the recorder; its output, or null without one. */
export function runRecorder(scenario: string, bin = recorderBinary()): string | null {
  if (!bin) return null;
  return execFileSync(bin, { input: scenario, encoding: 'utf8', timeout: 20_000 });
}

/** The malloc tracer, a shared object to preload; null without a compiler. */
export function tracerLibrary(): string | null {
  return toolBinary('tracer', ['-ldl', '-lpthread'], 'tracer.so', ['-shared', '-fPIC']);
}
