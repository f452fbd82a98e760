// uffd-malloc in a simulated process: allocate, write, free, and look at what the kernel saw.
//   npm run build && node dist/examples/malloc-basic.js
import { Process, UffdMalloc } from '../src/index.js';

export function main(log: (s: string) => void = console.log) {
  const proc = new Process();
  const heap = new UffdMalloc(proc); // one 64 GiB VMA, registered with userfaultfd (SIGBUS mode)
  const vmasAfterSetup = proc.mm.mapCount;
  const writesAfterSetup = proc.mm.lock.total.write;

  const names = heap.calloc(100, 32);
  proc.write(names, new TextEncoder().encode('hello, single VMA'));
  const big = heap.malloc(8 << 20);
  proc.fill(big, 8 << 20, 0xab);
  const bigger = heap.realloc(big, 32 << 20); // pages move with UFFDIO_MOVE; no byte is copied
  heap.free(names);

  const s = heap.stats();
  log(`live ${s.liveBytes} B, mapped ${s.mappedBytes} B, RSS ${s.rssBytes} B, THP ${s.thpBytes} B`);
  log(`userland mmap ${s.heap.mmap}, munmap ${s.heap.munmap}, mremap ${s.heap.mremap}, UFFDIO_MOVE ${s.heap.UFFDIO_MOVE}`);
  log(`VMAs ${proc.mm.mapCount} (after setup ${vmasAfterSetup}), mmap_lock writes since setup ${proc.mm.lock.total.write - writesAfterSetup}`);
  log(`byte at the end of the moved block: 0x${proc.read8(bigger + (8 << 20) - 1).toString(16)}`);
  return { proc, heap, vmasAfterSetup, writesAfterSetup };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
