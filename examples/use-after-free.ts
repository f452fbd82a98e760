// A use after free caught by SIGBUS: freed large blocks go back to "missing" (MADV_DONTNEED in
// a userfaultfd range), so the next touch faults and the heap names the allocation.
//   npm run build && node dist/examples/use-after-free.js
import { Process, UffdMalloc, UseAfterFreeError } from '../src/index.js';

export function main(log: (s: string) => void = console.log): UseAfterFreeError | null {
  const proc = new Process();
  const heap = new UffdMalloc(proc);
  const buf = heap.malloc(1 << 20);
  proc.fill(buf, 1 << 20, 1);
  heap.free(buf);
  try {
    proc.read8(buf + 4242); // a dangling pointer
  } catch (e) {
    if (e instanceof UseAfterFreeError) {
      log(e.message);
      return e;
    }
    throw e;
  }
  log('no fault: the memory was still mapped');
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
