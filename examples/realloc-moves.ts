// realloc of a large block by page moves: the frames behind the block stay the same, only the
// page table entries move (UFFDIO_MOVE), so growing a 64 MiB buffer copies no byte.
//   npm run build && node dist/examples/realloc-moves.js
import { Process, UffdMalloc } from '../src/index.js';

export function main(log: (s: string) => void = console.log) {
  const proc = new Process();
  const heap = new UffdMalloc(proc);
  let p = heap.malloc(4 << 20);
  proc.fill(p, 4 << 20, 0x5a);
  const blocker = heap.malloc(1 << 20); // sits right after the block, so growth must move it
  const framesBefore = proc.kernel.frames.allocated;
  for (let size = 8 << 20; size <= 64 << 20; size *= 2) p = heap.realloc(p, size);
  const s = heap.stats();
  log(`moved by ${s.heap.UFFDIO_MOVE} UFFDIO_MOVE calls; frames allocated while growing: ${proc.kernel.frames.allocated - framesBefore}`);
  log(`first and last old byte: 0x${proc.read8(p).toString(16)} 0x${proc.read8(p + (4 << 20) - 1).toString(16)}`);
  heap.free(blocker);
  return { proc, heap, p, framesBefore };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
