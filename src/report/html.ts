// One self-contained HTML page: per workload, SVG charts of VMA count, RSS and THP coverage over
// the run for every allocator, and the final comparison table. The results are embedded as JSON
// (element #results) so tools can read the page's numbers back.
import type { RunResult, Sample, Snapshot } from '../experiment/run.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const W = 520;
const H = 220;
const PAD = 60;

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function chart(title: string, runs: RunResult[], value: (s: Sample) => number, unit: string): string {
  const series = runs.map((r) => (r.samples ?? []).map((s) => [s.event, value(s)] as const));
  const maxX = Math.max(1, ...series.flat().map(([x]) => x));
  const maxY = Math.max(1e-9, ...series.flat().map(([, y]) => y));
  const px = (x: number) => PAD + (x / maxX) * (W - PAD - 10);
  const py = (y: number) => H - 24 - (y / maxY) * (H - 44);
  const lines = series
    .map((pts, i) => {
      const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      return `<polyline class="series" data-allocator="${esc(runs[i].allocator)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8" points="${d}"/>`;
    })
    .join('\n');
  const legend = runs
    .map((r, i) => `<tspan fill="${COLORS[i % COLORS.length]}" dx="${i ? 12 : 0}">■ ${esc(label(r))}</tspan>`)
    .join('');
  return `<figure><svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<text x="${PAD}" y="14" font-size="13" font-weight="600">${esc(title)}</text>
<line x1="${PAD}" y1="${H - 24}" x2="${W - 10}" y2="${H - 24}" stroke="#888"/>
<line x1="${PAD}" y1="20" x2="${PAD}" y2="${H - 24}" stroke="#888"/>
<text x="${PAD - 4}" y="26" font-size="10" text-anchor="end">${esc(fmt(maxY))}${unit}</text>
<text x="${PAD - 4}" y="${H - 24}" font-size="10" text-anchor="end">0</text>
<text x="${W - 10}" y="${H - 8}" font-size="10" text-anchor="end">${maxX.toLocaleString('en-US')} events</text>
${lines}
<text x="${PAD}" y="${H - 4}" font-size="10">${legend}</text>
</svg></figure>`;
}

/** A run's name in a legend: the allocator, and its thread count when it had several. */
function label(r: RunResult): string {
  return r.threads > 1 ? `${r.allocator} ×${r.threads}` : r.allocator;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2);
}

const MiB = 1024 * 1024;

function table(runs: RunResult[]): string {
  const head = ['workload', 'allocator', 'threads', 'events', 'vmaPeak', 'vmaFinal', 'mmapLockWrite', 'mmapLockRead', 'rssPeak MiB', 'rssFinal MiB', 'THP %', 'simulated ms', 'wall ms'];
  const rows = runs.map((r) =>
    [
      r.workload,
      r.allocator,
      r.threads,
      r.events,
      r.vmaPeak,
      r.vmaFinal,
      r.mmapLockWrite,
      r.mmapLockRead,
      (r.rssPeakBytes / MiB).toFixed(1),
      (r.rssFinalBytes / MiB).toFixed(1),
      (r.thpCoverage * 100).toFixed(1),
      (r.simulatedNs / 1e6).toFixed(1),
      r.wallMs,
    ]
      .map((c) => `<td>${esc(String(c))}</td>`)
      .join(''),
  );
  return `<table id="comparison"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('\n')}</tbody></table>`;
}

/** bench --defrag rows: each metric before and after the defragment step. */
function defragTable(runs: RunResult[]): string {
  const rows = runs.filter((r): r is RunResult & { before: Snapshot; after: Snapshot; bytesVerified: number } => 'before' in r);
  if (!rows.length) return '';
  const pair = (a: number, b: number, f: (n: number) => string) => `${f(a)} → ${f(b)}`;
  const body = rows
    .map(
      (r) =>
        `<tr><td>${esc(r.workload)}</td><td>${esc(r.allocator)}</td><td>${pair(r.before.vmaFinal, r.after.vmaFinal, String)}</td><td>${pair(r.before.thpCoverage * 100, r.after.thpCoverage * 100, (n) => n.toFixed(1))}</td><td>${pair(r.before.rssFinalBytes / MiB, r.after.rssFinalBytes / MiB, (n) => n.toFixed(1))}</td><td>${pair(r.before.mmapLockWrite, r.after.mmapLockWrite, String)}</td><td>${r.bytesVerified}</td></tr>`,
    )
    .join('\n');
  return `<h2>Defragment step (mremap_vma_merge + khugepaged)</h2><table id="defrag"><thead><tr><th>workload</th><th>allocator</th><th>VMAs</th><th>THP %</th><th>RSS MiB</th><th>mmap_lock writes</th><th>bytes verified</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** Throughput against thread count, per allocator, when a sweep ran several thread counts. */
function threadsSection(workload: string, runs: RunResult[]): string {
  const counts = [...new Set(runs.map((r) => r.threads))].sort((a, b) => a - b);
  if (counts.length < 2) return '';
  const allocators = [...new Set(runs.map((r) => r.allocator))];
  const tput = (r: RunResult) => (r.simulatedNs ? r.events / (r.simulatedNs / 1e9) : 0);
  const maxY = Math.max(1, ...runs.map(tput));
  const px = (t: number) => PAD + (counts.indexOf(t) / (counts.length - 1)) * (W - PAD - 10);
  const py = (y: number) => H - 24 - (y / maxY) * (H - 44);
  const lines = allocators
    .map((a, i) => {
      const pts = counts.map((t) => runs.find((r) => r.allocator === a && r.threads === t)).filter((r): r is RunResult => !!r);
      return `<polyline class="series threads" data-allocator="${esc(a)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8" points="${pts.map((r) => `${px(r.threads).toFixed(1)},${py(tput(r)).toFixed(1)}`).join(' ')}"/>`;
    })
    .join('\n');
  const ticks = counts.map((t) => `<text x="${px(t).toFixed(1)}" y="${H - 8}" font-size="10" text-anchor="middle">${t}</text>`).join('');
  const legend = allocators.map((a, i) => `<tspan fill="${COLORS[i % COLORS.length]}" dx="${i ? 12 : 0}">■ ${esc(a)}</tspan>`).join('');
  const rows = runs
    .map((r) => `<tr><td>${esc(r.allocator)}</td><td>${r.threads}</td><td>${Math.round(tput(r))}</td><td>${((r.lockWaitNs.mmapLockRead + r.lockWaitNs.mmapLockWrite + r.lockWaitNs.vmaLock) / 1e6).toFixed(2)}</td><td>${(r.shootdownNs / 1e6).toFixed(2)}</td><td>${r.tlbFlushes}</td></tr>`)
    .join('\n');
  return `<h3>${esc(workload)}: threads</h3><figure><svg role="img" aria-label="throughput by threads" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<text x="${PAD}" y="14" font-size="13" font-weight="600">events per simulated second, by threads</text>
<line x1="${PAD}" y1="${H - 24}" x2="${W - 10}" y2="${H - 24}" stroke="#888"/><line x1="${PAD}" y1="20" x2="${PAD}" y2="${H - 24}" stroke="#888"/>
<text x="${PAD - 4}" y="26" font-size="10" text-anchor="end">${esc(fmt(maxY))}</text>${ticks}
${lines}
<text x="${PAD}" y="${H - 30}" font-size="10">${legend}</text></svg></figure>
<table class="threads"><thead><tr><th>allocator</th><th>threads</th><th>events/s</th><th>lock wait ms</th><th>shootdown ms</th><th>TLB flushes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReport(runs: RunResult[], title = 'uffd-malloc: allocator comparison'): string {
  const byWorkload = new Map<string, RunResult[]>();
  for (const r of runs) byWorkload.set(r.workload, [...(byWorkload.get(r.workload) ?? []), r]);
  const threadSections = [...byWorkload].map(([w, rs]) => threadsSection(w, rs)).join('\n');
  const sections = [...byWorkload]
    .map(
      ([w, rs]) => `<section><h2>${esc(w)}</h2><div class="charts">
${chart('VMA count', rs, (s) => s.vmas, '')}
${chart('RSS', rs, (s) => s.rssBytes / MiB, ' MiB')}
${chart('THP coverage (THP bytes / RSS)', rs, (s) => (s.rssBytes ? s.thpBytes / s.rssBytes : 0), '')}
</div></section>`,
    )
    .join('\n');
  const data = JSON.stringify(runs.map(({ samples: _s, ...r }) => r)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
</style></head>
<body><h1>${esc(title)}</h1>
<p>Each run replays one workload through one allocator over the simulated Linux mm; every allocated byte is written.
Simulated time prices kernel work with costs measured on Linux 6.18.</p>
${sections}
${threadSections ? `<h2>Threads</h2>\n${threadSections}` : ''}
<h2>Final comparison</h2>
${table(runs)}
${defragTable(runs)}
<script type="application/json" id="results">${data}</script>
</body></html>
`;
}
