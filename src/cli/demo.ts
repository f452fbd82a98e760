// `uffd-malloc demo`: map, touch, and show /proc/self/maps and smaps_rollup of a simulated process.
import { Process } from '../mm/process.js';
import { parseArgs, profileOption } from './args.js';
import { MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../mm/uapi.js';

export function demoCommand(argv: string[] = []): number {
  const profile = profileOption(parseArgs(argv, ['profile'], []));
  const p = new Process({ settings: profile.kernel.settings });
  const rw = PROT_READ | PROT_WRITE;
  const small = p.mmap(0, 64 * 1024, rw, MAP_PRIVATE | MAP_ANONYMOUS);
  p.fill(small, 16 * 1024, 0xab);
  const huge = p.mmap(0, 4 * 1024 * 1024, rw, MAP_PRIVATE | MAP_ANONYMOUS);
  p.madvise(huge, 4 * 1024 * 1024, MADV_HUGEPAGE);
  p.write8(huge, 1);
  p.read8(huge + 2 * 1024 * 1024);
  p.mprotect(small + 8192, 4096, PROT_READ);
  p.sbrk(3 * 4096);
  p.write8(p.mm.startBrk, 7);
  const out = process.stdout;
  out.write('$ cat /proc/self/maps\n' + p.readProc('/proc/self/maps'));
  out.write('\n$ cat /proc/self/smaps_rollup\n' + p.readProc('/proc/self/smaps_rollup'));
  out.write(`\nprofile: ${profile.name}\nmmap_lock: write=${p.mm.lock.total.write} read=${p.mm.lock.total.read} per-VMA=${p.mm.lock.total.vma}\n`);
  return 0;
}
