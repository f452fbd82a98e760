// Running the built CLI as a user would, in a child process. The child runs without V8's
// concurrent recompilation: Node 20 can deadlock at exit when a background optimizing-compiler
// job waits for a garbage collection while the main thread waits in NodePlatform::DrainTasks for
// that job (nodejs/node#54918; seen here about once in a thousand CLI runs, each time hanging the
// whole suite). Compiling on the main thread costs the child ~15% of its time and removes the
// background jobs the deadlock needs.
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/src/cli/index.js');

/** node's arguments for `uffd-malloc ARGS...`. */
export function cliArgv(args: string[]): string[] {
  return ['--no-concurrent-recompilation', CLI, ...args];
}
