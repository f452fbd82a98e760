// The scenario language's userfaultfd operations (uffd, monitor, uffd_*), and the monitor the
// real runner runs in a thread: it logs each fault and event and resolves faults by its policy.
import type { Process } from '../mm/process.js';
import { Errno, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../mm/uapi.js';
import * as U from '../mm/userfaultfd/index.js';
import { hasWord, parseNumber } from './parse.js';

const SCRATCH = 2 * 1024 * 1024;
type Policy = 'none' | 'zero' | 'copy' | 'continue';

export class UffdScenario {
  private fd = -1;
  private policy: Policy = 'none';
  private policyByte = 0;
  private log = '';
  /** The runner's copy buffer: source of uffd_copy and of the monitor's copies. */
  private readonly scratch: number;

  constructor(
    readonly proc: Process,
    readonly base: number,
    readonly size: number,
  ) {
    this.scratch = proc.mmap(0, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    proc.fill(this.scratch, SCRATCH, 0);
    proc.fill(this.scratch, SCRATCH, 1); // populated: filling it later faults nothing
  }

  handles(op: string): boolean {
    return op === 'uffd' || op === 'monitor' || op.startsWith('uffd_');
  }

  flushLog(): string {
    const l = this.log;
    this.log = '';
    return l;
  }

  private rel(a: number): string {
    return '+0x' + (a - this.base).toString(16);
  }

  private inArena(a: number): boolean {
    return a >= this.base && a < this.base + this.size;
  }

  /** The monitor thread: log, then resolve by policy. Its own lock use is not the scenario's. */
  private readonly monitor = (msg: U.UffdMsg) => {
    const p = this.proc;
    switch (msg.event) {
      case U.UFFD_EVENT_PAGEFAULT: {
        const page = msg.address - (msg.address % 4096);
        const f = msg.flags;
        const kind = f & U.UFFD_PAGEFAULT_FLAG_MINOR ? 'minor' : f & U.UFFD_PAGEFAULT_FLAG_WP ? 'wp' : f & U.UFFD_PAGEFAULT_FLAG_WRITE ? 'write' : 'read';
        this.log += ` fault(${this.rel(page)},${kind})`;
        p.mm.lock.uncounted(() => {
          try {
            if (this.policy === 'zero') p.uffdZeropage(this.fd, page, 4096);
            else if (this.policy === 'copy') {
              p.fill(this.scratch, 4096, this.policyByte);
              p.uffdCopy(this.fd, page, this.scratch, 4096);
            } else if (this.policy === 'continue') p.uffdContinue(this.fd, page, 4096);
          } catch (e) {
            if (!(e instanceof Errno)) throw e; // the runner ignores the ioctl's result
          }
        });
        return;
      }
      case U.UFFD_EVENT_REMOVE:
      case U.UFFD_EVENT_UNMAP:
        this.log += ` event(${msg.event === U.UFFD_EVENT_REMOVE ? 'remove' : 'unmap'},${this.rel(msg.start)},${this.rel(msg.end)})`;
        return;
      case U.UFFD_EVENT_REMAP:
        this.log += ` event(remap,${this.rel(msg.from)},${this.inArena(msg.to) ? this.rel(msg.to) : 'elsewhere'})`;
        return;
    }
  };

  /** Run a ranged ioctl and print `ok FIELD=N` or `err E FIELD=N`. */
  private ranged(field: string, fn: () => number): string {
    if (this.fd < 0) return `err EBADF ${field}=0`;
    try {
      return `ok ${field}=${fn()}`;
    } catch (e) {
      if (e instanceof U.UffdError) return `err ${e.code} ${field}=${e.progress}`;
      if (e instanceof Errno) return `err ${e.code} ${field}=0`;
      throw e;
    }
  }

  exec(op: string, a: string[]): string {
    const p = this.proc;
    const at = (i: number) => this.base + parseNumber(a[i]);
    switch (op) {
      case 'uffd': {
        let features = 0;
        for (const w of a) features |= U.UFFD_FEATURES[w] ?? 0;
        const flags = U.O_CLOEXEC | U.O_NONBLOCK | (hasWord(a, 'user_mode_only') ? U.UFFD_USER_MODE_ONLY : 0);
        const fd = p.userfaultfd(flags);
        p.uffdApi(fd, features);
        this.fd = fd;
        p.uffdMonitor(fd, this.monitor);
        return 'ok';
      }
      case 'monitor':
        this.policy = (['zero', 'copy', 'continue'].includes(a[0]) ? a[0] : 'none') as Policy;
        this.policyByte = parseNumber(a[1]) & 0xff;
        return 'ok';
      case 'uffd_register': {
        const mode =
          (hasWord(a, 'missing') ? U.UFFDIO_REGISTER_MODE_MISSING : 0) |
          (hasWord(a, 'wp') ? U.UFFDIO_REGISTER_MODE_WP : 0) |
          (hasWord(a, 'minor') ? U.UFFDIO_REGISTER_MODE_MINOR : 0);
        return `ok ioctls=0x${p.uffdRegister(this.fd, at(0), parseNumber(a[1]), mode).toString(16)}`;
      }
      case 'uffd_unregister':
        p.uffdUnregister(this.fd, at(0), parseNumber(a[1]));
        return 'ok';
      case 'uffd_zeropage':
        return this.ranged('zeropage', () => p.uffdZeropage(this.fd, at(0), parseNumber(a[1]), hasWord(a, 'dontwake') ? U.UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0));
      case 'uffd_copy': {
        const len = parseNumber(a[1]);
        p.mm.lock.uncounted(() => p.fill(this.scratch, Math.min(len, SCRATCH), parseNumber(a[2]) & 0xff));
        return this.ranged('copy', () => p.uffdCopy(this.fd, at(0), this.scratch, len, hasWord(a, 'wp') ? U.UFFDIO_COPY_MODE_WP : 0));
      }
      case 'uffd_move':
        return this.ranged('move', () =>
          p.uffdMove(this.fd, at(0), at(1), parseNumber(a[2]), hasWord(a, 'allow_src_holes') ? U.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES : 0),
        );
      case 'uffd_continue':
        return this.ranged('mapped', () => p.uffdContinue(this.fd, at(0), parseNumber(a[1])));
      case 'uffd_wp':
        p.uffdWriteprotect(this.fd, at(0), parseNumber(a[1]), a[2] === 'on' ? U.UFFDIO_WRITEPROTECT_MODE_WP : 0);
        return 'ok';
      case 'uffd_poison':
        return this.ranged('updated', () => p.uffdPoison(this.fd, at(0), parseNumber(a[1])));
      default:
        return 'err unknown-op';
    }
  }
}
