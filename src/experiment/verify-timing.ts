// The live kernel's time for a verify log's kernel work, from the recorder's timing runs
// (RECORDER_TIMING: every timed operation's own time after an @, and `elapsed` at the end of
// each stretch between checkpoints).
//
// A log is mostly the program's own stores, and on a machine whose clock reads are slow a store
// line costs the recorder more than the store (370 ns here for a 16-byte fill of a hot line), so
// what the stores cost decides the kernel's figure as much as the kernel does. The stores in which
// the simulator did no kernel work (no fault, no first touch) are therefore left out by their own
// measured time, in place, with the cache and TLB misses the run's own pattern of stores had. A
// probe run afterwards cannot stand in for them: the run's last stores repeated are warm (python x
// guarded 0.53-0.66 of the simulated time), a sample of the stretch's stores repeated later is
// cold (python x uffd 2.3x). A store that faulted counts less what a store alone costs: the
// stretch's median fault-free store and its bytes at the profile's memset rate. Every other
// operation counts less the recorder's own per-operation cost, which the overhead probes measure.

/** What the timing needs of a log: its lines, and which store lines did kernel work. */
export interface TimedLog {
  readonly lines: readonly string[];
  didWork(line: number): boolean;
}

/** Operations the recorder does not time. */
export const UNTIMED = new Set(['maps', 'count', 'rss', 'events', 'locks', 'elapsed', 'faults']);

/** Bytes a store line writes: `fill OFF LEN BYTE`, `write OFF BYTE`, `read OFF`; -1 for any other line. */
function storeBytes(line: string): number {
  if (line.startsWith('fill ')) return parseInt(line.split(' ')[2], 16);
  if (line.startsWith('write ')) return 1;
  if (line.startsWith('read ')) return 0;
  return -1;
}

/** One stretch in one timing run: its operations' time, the store time left out, and the count. */
interface Stretch {
  /** Time of the kernel operations and the kernel part of faulting stores (less a store's own cost). */
  ns: number;
  /** Kernel operations (not stores): each still holds the recorder's per-operation cost. */
  ops: number;
}

export class LiveKernelTime {
  /** Per stretch-ending `elapsed` line: the fastest run's kernel part, and its operation count. */
  private readonly best = new Map<number, Stretch>();
  /** Per probe-ending `elapsed` line: the fastest run's time per probe store. */
  private readonly probeBest = new Map<number, number>();
  /** The fault-free stores' times of the stretch being read (reused between stretches). */
  private userNs = new Float64Array(1 << 12);

  /**
   * @param probeEnds the `elapsed` lines that end an overhead probe of `probeStores` stores
   * @param memsetNsPerByte the profile's price of a byte stored (what a faulting store's bytes cost alone)
   */
  constructor(
    private readonly log: TimedLog,
    private readonly probeEnds: ReadonlySet<number>,
    private readonly probeStores: number,
    private readonly memsetNsPerByte: number,
  ) {}

  /** Take one timing run's output, line by line. */
  addRun(output: Iterable<string>): void {
    const lines = this.log.lines;
    let user = 0;
    let ns = 0;
    let ops = 0;
    const faulted: [ns: number, bytes: number][] = [];
    let stretches = 0;
    for (const out of output) {
      const sp = out.indexOf(' ');
      const k = Number(out.slice(0, sp)) - 1;
      if (!(k >= 0 && k < lines.length)) continue;
      const line = lines[k];
      if (line === 'elapsed') {
        const total = Number(/-> ok (\d+)$/.exec(out)?.[1] ?? NaN);
        if (this.probeEnds.has(k)) this.keepMin(this.probeBest, k, total / this.probeStores);
        else if (++stretches > 1) {
          // (the first stretch maps the probe page: neither work nor probe)
          const median = medianOf(this.userNs.subarray(0, user));
          for (const [d, bytes] of faulted) ns += Math.max(0, d - median - bytes * this.memsetNsPerByte);
          const prev = this.best.get(k);
          if (!prev || ns < prev.ns) this.best.set(k, { ns, ops });
        }
        user = ns = ops = 0;
        faulted.length = 0;
        continue;
      }
      const at = out.lastIndexOf(' @');
      if (at < 0) continue; // untimed (maps, rss, ...)
      const d = Number(out.slice(at + 2));
      const bytes = storeBytes(line);
      if (bytes < 0) {
        ns += d;
        ops++;
      } else if (this.log.didWork(k)) faulted.push([d, bytes]);
      else {
        if (user === this.userNs.length) {
          const grown = new Float64Array(user * 2);
          grown.set(this.userNs);
          this.userNs = grown;
        }
        this.userNs[user++] = d;
      }
    }
  }

  private keepMin(m: Map<number, number>, k: number, v: number): void {
    if (!(m.get(k)! <= v)) m.set(k, v);
  }

  /** The recorder's own cost per operation: the median probe store, at its fastest. */
  get perOpNs(): number {
    return medianOf(Float64Array.from(this.probeBest.values()));
  }

  /**
   * The kernel's time over every stretch at its fastest run, less the recorder's own cost per
   * operation; a noisy machine can leave a stretch below that, which counts as no time.
   */
  kernelNs(): number {
    const perOp = this.perOpNs;
    let total = 0;
    for (const s of this.best.values()) total += Math.max(0, s.ns - s.ops * perOp);
    return total;
  }
}

/** The median of xs (sorted in place); 0 for none. */
function medianOf(xs: Float64Array): number {
  if (!xs.length) return 0;
  xs.sort();
  const h = xs.length >> 1;
  return xs.length % 2 ? xs[h] : (xs[h - 1] + xs[h]) / 2;
}
