// The defragment step of `bench --defrag`: after a workload, every run of adjacent anonymous VMAs
// that mremap_vma_merge can merge is merged (with MADV_HUGEPAGE), khugepaged runs, and the
// metrics before and after are compared; the merged ranges' bytes are checked unchanged.
import { checkMergeable, mremapVmaMerge } from '../alloc/defrag.js';
import { readSmaps, type SmapsVma } from '../alloc/sys.js';
import type { Process } from '../mm/process.js';
import type { EventList } from '../workloads/events.js';
import { type RunOptions, type RunResult, runOne, type Snapshot, snapshot } from './run.js';

export interface DefragResult extends RunResult {
  before: Snapshot;
  after: Snapshot;
  /** Bytes of the merged ranges read before and after and found equal. */
  bytesVerified: number;
  /** Ranges merged and the VMAs they were made of. */
  rangesMerged: number;
  vmasMerged: number;
  defragWallMs: number;
}

/** Maximal runs of adjacent VMAs that could be one (same perms and flags, anonymous, private). */
export function mergeableRuns(vmas: SmapsVma[]): [number, number, number][] {
  const key = (v: SmapsVma) => `${v.perms}|${[...v.flags].sort().join(',')}|${v.inode}`;
  const runs: [number, number, number][] = [];
  let i = 0;
  while (i < vmas.length) {
    let j = i;
    while (j + 1 < vmas.length && vmas[j + 1].start === vmas[j].end && key(vmas[j + 1]) === key(vmas[i])) j++;
    const v = vmas[i];
    const ok = v.inode === 0 && v.perms[0] === 'r' && v.perms[3] === 'p' && !['um', 'uw', 'ui', 'lo'].some((f) => v.flags.has(f));
    if (j > i && ok) runs.push([vmas[i].start, vmas[j].end, j - i + 1]);
    i = j + 1;
  }
  return runs;
}

export function defragProcess(proc: Process): { bytesVerified: number; rangesMerged: number; vmasMerged: number } {
  let bytesVerified = 0;
  let rangesMerged = 0;
  let vmasMerged = 0;
  for (const [start, end, count] of mergeableRuns(readSmaps(proc))) {
    try {
      checkMergeable(proc, start, end - start);
    } catch {
      continue;
    }
    const before = proc.read(start, end - start);
    mremapVmaMerge(proc, start, end - start, { hugepage: true, stepPages: 1 << 16 });
    const after = proc.read(start, end - start);
    if (!Buffer.from(before).equals(Buffer.from(after))) throw new Error(`mremap_vma_merge changed bytes in [0x${start.toString(16)}, 0x${end.toString(16)})`);
    bytesVerified += end - start;
    rangesMerged++;
    vmasMerged += count;
  }
  proc.khugepaged();
  return { bytesVerified, rangesMerged, vmasMerged };
}

/** Run a workload (in memory, or any run function such as a streamed trace's) then defragment. */
export async function runDefrag(workload: EventList | ((opts: RunOptions) => Promise<RunResult>), allocator: string, opts: RunOptions = {}): Promise<DefragResult> {
  let extra: Omit<DefragResult, keyof RunResult> | null = null;
  const run = typeof workload === 'function' ? workload : async (o: RunOptions) => runOne(workload, allocator, o);
  const r = await run({
    ...opts,
    keepBytes: true, // the merged ranges' bytes are compared before and after
    onEnd: (proc) => {
      const costs = opts.profile?.costs;
      const before = snapshot(proc, costs);
      const t0 = performance.now();
      const d = defragProcess(proc);
      extra = { before, after: snapshot(proc, costs), ...d, defragWallMs: Math.round(performance.now() - t0) };
    },
  });
  return { ...r, ...extra! };
}
