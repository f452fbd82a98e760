// The kernel's tracing through the `debug` package (DEBUG=mm:vma and the like), cheap to ask on hot
// paths. debug's own `enabled` is a getter V8 does not inline (2% of a syscall-heavy replay, asked
// on every VMA change); this keeps its answer until the namespaces change, which is what that
// getter itself watches (debug's createDebug.namespaces, set by debug.enable()).
import createDebug from 'debug';

const debugState = createDebug as unknown as { namespaces?: string };

export class DebugLog {
  private readonly dbg: createDebug.Debugger;
  /** The namespaces `on` was worked out for (undefined: not yet). */
  private seen: string | undefined | null = null;
  private on = false;

  constructor(namespace: string) {
    this.dbg = createDebug(namespace);
  }

  /** Whether this namespace prints (check before building a message's arguments). */
  get enabled(): boolean {
    const ns = debugState.namespaces;
    if (ns !== this.seen) {
      this.seen = ns;
      this.on = this.dbg.enabled;
    }
    return this.on;
  }

  log(format: string, ...args: unknown[]): void {
    this.dbg(format, ...args);
  }
}
