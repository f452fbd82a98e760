// userfaultfd(2) and its ioctls.
import type { Mm } from '../mm.js';
import { Errno } from '../uapi.js';
import { UffdContext, UffdLayer } from './context.js';
import { O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY } from './uapi.js';

export { UffdContext, type UffdMonitor } from './context.js';
export { uffdApi, uffdRegister, uffdUnregister, uffdRelease } from './register.js';
export { uffdZeropage, uffdCopy, uffdContinue, uffdPoison } from './mfill.js';
export { uffdMove } from './move.js';
export { uffdWriteprotect, uffdWake } from './wp.js';
export * from './uapi.js';

/**
 * userfaultfd(2). Without UFFD_USER_MODE_ONLY the caller needs CAP_SYS_PTRACE unless
 * vm.unprivileged_userfaultfd is 1 (new_userfaultfd checks userfaultfd_syscall_allowed).
 */
export function newUserfaultfd(mm: Mm, flags: number, privileged: boolean): UffdContext {
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)) throw new Errno('EINVAL', 'unknown flags');
  const userModeOnly = (flags & UFFD_USER_MODE_ONLY) !== 0;
  if (!userModeOnly && !privileged && !mm.kernel.settings.unprivilegedUserfaultfd) throw new Errno('EPERM');
  if (!mm.userfault) mm.userfault = new UffdLayer(mm);
  return new UffdContext(mm, userModeOnly, (flags & O_NONBLOCK) !== 0);
}
