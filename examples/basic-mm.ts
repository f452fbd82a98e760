// Map memory in a simulated process, touch it, and read /proc: run with
//   npm run build && node dist/examples/basic-mm.js
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_PRIVATE, Process, PROT_READ, PROT_WRITE } from '../src/index.js';

export function main(log: (s: string) => void = console.log): Process {
  const p = new Process();
  const a = p.mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  p.fill(a, 8192, 0x41);
  p.madvise(a, 4096, MADV_DONTNEED);
  log(p.readProc('/proc/self/maps'));
  log(`first page reads 0x${p.read8(a).toString(16)}, second 0x${p.read8(a + 4096).toString(16)}`);
  log(`mmap_lock: ${JSON.stringify(p.mm.lock.total)}`);
  return p;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
