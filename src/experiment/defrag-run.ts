// The defragment step of `bench --defrag`: after a workload, every run of adjacent anonymous VMAs
// that mremap_vma_merge can merge is merged (with MADV_HUGEPAGE), khugepaged runs, and the
// metrics before and after are compared; the merged ranges' bytes are checked unchanged.
import { isGuardVma, mremapVmaMerge } from '../alloc/defrag.js';
import { Errno, PAGE_SIZE } from '../mm/uapi.js';
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

/**
 * Maximal runs of adjacent VMAs that could be one (same perms and flags, anonymous, private);
 * with absorbGuards, empty PROT_NONE VMAs between such VMAs join the run as guards.
 */
export function mergeableRuns(vmas: SmapsVma[], absorbGuards = false): [number, number, number][] {
  const key = (v: SmapsVma) => `${v.perms}|${[...v.flags].sort().join(',')}|${v.inode}`;
  const guard = (v: SmapsVma) => absorbGuards && isGuardVma(v) && v.rssKb === 0;
  const runs: [number, number, number][] = [];
  let i = 0;
  while (i < vmas.length) {
    const v = vmas[i];
    const ok = v.inode === 0 && v.perms[0] === 'r' && v.perms[3] === 'p' && !['um', 'uw', 'ui', 'lo'].some((f) => v.flags.has(f));
    let j = i;
    let last = i; // the last VMA of the run that is not a guard
    while (ok && j + 1 < vmas.length && vmas[j + 1].start === vmas[j].end && (key(vmas[j + 1]) === key(v) || guard(vmas[j + 1]))) {
      j++;
      if (!guard(vmas[j])) last = j;
    }
    if (last > i) runs.push([v.start, vmas[last].end, last - i + 1]);
    i = last + 1;
  }
  return runs;
}

/** Two 32-bit hashes (FNV-1a and a position-weighted sum) of each 4 KiB page of [start, end), read a MiB at a time. */
function pageHashes(proc: Process, start: number, end: number): Uint32Array {
  const out = new Uint32Array(((end - start) / PAGE_SIZE) * 2);
  let k = 0;
  for (let at = start; at < end; at += CHUNK) {
    const n = Math.min(CHUNK, end - at);
    const bytes = proc.loadInto(at, n === CHUNK ? chunk : new Uint8Array(n));
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let w = 0; w < words.length; w += PAGE_SIZE / 4) {
      let fnv = 0x811c9dc5;
      let sum = 0;
      for (let i = w; i < w + PAGE_SIZE / 4; i++) {
        fnv = Math.imul(fnv ^ words[i], 0x01000193);
        sum = (sum + Math.imul(words[i], i - w + 1)) | 0;
      }
      out[k++] = fnv;
      out[k++] = sum;
    }
  }
  return out;
}
const CHUNK = 1 << 20;
/** The one buffer pages are read into for hashing (a fresh MiB per read kept the collector busy). */
const chunk = new Uint8Array(CHUNK);

export function defragProcess(proc: Process, absorbGuards = false): { bytesVerified: number; rangesMerged: number; vmasMerged: number } {
  let bytesVerified = 0;
  let rangesMerged = 0;
  let vmasMerged = 0;
  const vmas = readSmaps(proc);
  for (const [start, end, count] of mergeableRuns(vmas, absorbGuards)) {
    // the contents are compared page by page, by two hashes each, before and after (guards hold
    // none and cannot be read)
    const parts = vmas.filter((v) => v.start >= start && v.end <= end && !isGuardVma(v));
    const hashes = () => parts.map((v) => pageHashes(proc, v.start, v.end));
    const before = hashes();
    try {
      // mremap_vma_merge checks the range first and changes nothing when it cannot merge it
      // smaps is read once for all the ranges: each merge changes only its own range (its holding
      // and target areas come and go outside every other range)
      mremapVmaMerge(proc, start, end - start, { hugepage: true, stepPages: 1 << 16, absorbGuards, smaps: vmas });
    } catch (e) {
      if (e instanceof Errno) continue;
      throw e;
    }
    const after = hashes();
    if (before.some((h, k) => h.some((x, i) => x !== after[k][i]))) throw new Error(`mremap_vma_merge changed bytes in [0x${start.toString(16)}, 0x${end.toString(16)})`);
    bytesVerified += parts.reduce((n, v) => n + v.end - v.start, 0);
    rangesMerged++;
    vmasMerged += count;
  }
  proc.khugepaged();
  return { bytesVerified, rangesMerged, vmasMerged };
}

/** Run a workload (in memory, or any run function such as a streamed trace's) then defragment. */
export async function runDefrag(workload: EventList | ((opts: RunOptions) => Promise<RunResult>), allocator: string, opts: RunOptions & { absorbGuards?: boolean } = {}): Promise<DefragResult> {
  let extra: Omit<DefragResult, keyof RunResult> | null = null;
  const run = typeof workload === 'function' ? workload : async (o: RunOptions) => runOne(workload, allocator, o);
  const r = await run({
    ...opts,
    keepBytes: true, // the merged ranges' bytes are compared before and after
    onEnd: (proc) => {
      const costs = opts.profile?.costs;
      const before = snapshot(proc, costs);
      const t0 = performance.now();
      // the guarded baseline's PROT_NONE guards are absorbed as guard markers by default
      const d = defragProcess(proc, opts.absorbGuards ?? allocator === 'guarded');
      extra = { before, after: snapshot(proc, costs), ...d, defragWallMs: Math.round(performance.now() - t0) };
    },
  });
  return { ...r, ...extra! };
}
