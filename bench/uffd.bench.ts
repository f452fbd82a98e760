// userfaultfd operations: ZEROPAGE, COPY and MOVE of 4 KiB, MOVE of a 2 MiB THP, and a SIGBUS
// round trip to a handler, as tools/recorder.c measures them on the real kernel.
import type { Bench } from 'tinybench';
import { Process } from '../src/mm/process.js';
import { MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIGBUS, SignalError } from '../src/mm/uapi.js';
import * as F from '../src/mm/userfaultfd/index.js';

const P = 4096;
const M2 = 2 << 20;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function armed(len: number, features: number, huge = false, populate = 0) {
  const p = new Process();
  const base = p.mmap(0, len, RW, ANON | MAP_NORESERVE);
  p.madvise(base, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  if (populate) p.fill(base, populate, 1); // a THP when huge and populate is 2 MiB
  const fd = p.userfaultfd();
  p.uffdApi(fd, features);
  p.uffdRegister(fd, base, len, F.UFFDIO_REGISTER_MODE_MISSING);
  return { p, fd, base };
}

export function addUffdBenchmarks(bench: Bench): void {
  // ZEROPAGE and COPY into fresh pages; the range is re-armed with DONTNEED outside the timing
  for (const kind of ['zeropage', 'copy'] as const) {
    const REGION = 16 << 20;
    const { p, fd, base } = armed(REGION, F.UFFD_FEATURE_SIGBUS);
    const src = p.mmap(0, P, RW, ANON);
    p.fill(src, P, 7);
    let at = base;
    bench.add(
      `uffd-${kind}-4k`,
      () => {
        if (kind === 'zeropage') p.uffdZeropage(fd, at, P);
        else p.uffdCopy(fd, at, src, P);
        at += P;
      },
      {
        afterEach: () => {
          if (at < base + REGION) return;
          p.madvise(base, REGION, MADV_DONTNEED);
          at = base;
        },
      },
    );
  }

  // MOVE of one populated page (or one THP) back and forth
  for (const [name, unit] of [
    ['uffd-move-4k', P],
    ['uffd-move-2m-thp', M2],
  ] as const) {
    const { p, fd, base } = armed(2 * M2, F.UFFD_FEATURE_SIGBUS | F.UFFD_FEATURE_MOVE, unit === M2, unit);
    if (unit === M2 && !(p.mm.pt.pmd(base)!.huge > 0)) throw new Error('expected a THP to move');
    let flip = 0;
    bench.add(name, () => {
      const from = base + (flip & 1) * unit;
      const to = base + ((flip + 1) & 1) * unit;
      p.uffdMove(fd, to, from, unit);
      flip++;
    });
  }

  // SIGBUS round trip: a read of a missing page, the handler, the access abandoned
  const sb = armed(P * 16, F.UFFD_FEATURE_SIGBUS);
  sb.p.sigaction(SIGBUS, () => false);
  bench.add('sigbus-roundtrip', () => {
    try {
      sb.p.read8(sb.base);
    } catch (e) {
      if (!(e instanceof SignalError)) throw e;
    }
  });
}
