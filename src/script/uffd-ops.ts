// The scenario language's userfaultfd operations (uffd, monitor, uffd_*). Filled in with the
// userfaultfd layer; until then every such operation fails with ENOSYS.
import type { Process } from '../mm/process.js';

const OPS = new Set(['uffd', 'monitor', 'uffd_register', 'uffd_unregister', 'uffd_zeropage', 'uffd_copy', 'uffd_move', 'uffd_continue', 'uffd_wp', 'uffd_poison']);

export class UffdScenario {
  constructor(
    readonly proc: Process,
    readonly base: number,
    readonly size: number,
  ) {}

  handles(op: string): boolean {
    return OPS.has(op);
  }

  exec(_op: string, _args: string[]): string {
    return 'err ENOSYS';
  }

  /** Faults and events the monitor received since the last call, in the runner's format. */
  flushLog(): string {
    return '';
  }
}
