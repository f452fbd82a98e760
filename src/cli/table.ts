// Text, CSV and JSON renderings of run results.
import type { DefragResult } from '../experiment/defrag-run.js';
import type { RunResult } from '../experiment/run.js';

const MiB = 1024 * 1024;

function row(r: RunResult): Record<string, string> {
  const wl = (r.syscalls.mmap ?? 0) + (r.syscalls.munmap ?? 0) + (r.syscalls.mremap ?? 0) + (r.syscalls.mprotect ?? 0) + (r.syscalls.brk ?? 0);
  return {
    workload: r.workload,
    allocator: r.allocator,
    events: String(r.events),
    'thr/cpu': `${r.threads}/${r.cpus}`,
    'VMAs peak/final': `${r.vmaPeak}/${r.vmaFinal}`,
    'mmap_lock w/r': `${r.mmapLockWrite}/${r.mmapLockRead}`,
    'WL syscalls': String(wl),
    'RSS peak MiB': (r.rssPeakBytes / MiB).toFixed(1),
    'RSS/live': r.liveBytesPeak ? (r.rssPeakBytes / r.liveBytesPeak).toFixed(2) : '-',
    'THP %': (r.thpCoverage * 100).toFixed(0),
    'TLB flush/IPI': `${r.tlbFlushes}/${r.tlbIpis}`,
    'lock wait us': ((r.lockWaitNs.mmapLockRead + r.lockWaitNs.mmapLockWrite + r.lockWaitNs.vmaLock) / 1e3).toFixed(0),
    'sim ms': (r.simulatedNs / 1e6).toFixed(1),
    'wall ms': String(r.wallMs),
  };
}

export function formatTable(results: RunResult[]): string {
  return layout(results.map(row));
}

/** bench --defrag: each metric before and after the defragment step. */
export function formatDefragTable(results: DefragResult[]): string {
  return layout(
    results.map((r) => ({
      workload: r.workload,
      allocator: r.allocator,
      'VMAs before>after': `${r.before.vmaFinal}>${r.after.vmaFinal}`,
      'THP % before>after': `${(r.before.thpCoverage * 100).toFixed(0)}>${(r.after.thpCoverage * 100).toFixed(0)}`,
      'RSS MiB before>after': `${(r.before.rssFinalBytes / MiB).toFixed(1)}>${(r.after.rssFinalBytes / MiB).toFixed(1)}`,
      'mmap_lock w before>after': `${r.before.mmapLockWrite}>${r.after.mmapLockWrite}`,
      'kernel ms before>after': `${(r.before.kernelNs / 1e6).toFixed(1)}>${(r.after.kernelNs / 1e6).toFixed(1)}`,
      'ranges merged': String(r.rangesMerged),
      'bytes verified': String(r.bytesVerified),
      'defrag ms': String(r.defragWallMs),
    })),
  );
}

function layout(rows: Record<string, string>[]): string {
  if (!rows.length) return '';
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n') + '\n';
}

export function formatCsv(results: RunResult[]): string {
  const cols = ['workload', 'allocator', 'events', 'vmaPeak', 'vmaFinal', 'mmapLockWrite', 'mmapLockRead', 'rssPeakBytes', 'rssFinalBytes', 'anonHugeBytesFinal', 'liveBytesPeak', 'thpCoverage', 'simulatedNs', 'wallMs'] as const;
  const lines = [cols.join(',') + ',syscalls,faults'];
  for (const r of results) {
    const sys = Object.entries(r.syscalls).map(([k, v]) => `${k}=${v}`).join(' ');
    const faults = Object.entries(r.faults).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(cols.map((c) => String(r[c])).join(',') + `,"${sys}","${faults}"`);
  }
  return lines.join('\n') + '\n';
}

/** The JSON contract: one array, one object per run, without the sampled series. */
export function formatJson(results: RunResult[]): string {
  return JSON.stringify(results.map(({ samples: _s, ...r }) => r), null, 2) + '\n';
}
