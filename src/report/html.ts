// One self-contained HTML page: per workload, a summary of which allocator is best at what, SVG
// charts over the run (VMA count, RSS, THP coverage, mmap_lock writes, faults, TLB shootdowns;
// log scales where values span decades; real allocators as reference lines), the thread sweep,
// the defragment step, and the final comparison table. The results are embedded as JSON
// (element #results) so tools can read the page's numbers back.
import type { RunResult, Sample, Snapshot } from '../experiment/run.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2', '#7f7f7f'];
const W = 560;
const PLOT_H = 200;
const PAD = 64;
const TOP = 24;
/** Legend entries are laid out in rows that fit the chart's width (at most 7.2 px a character at 11 px). */
const LEGEND_ROW = 14;
const CHAR_W = 7.2;

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Legend entries placed in rows below the plot and its axis label: never on top of either. */
function legendRows(names: string[], y0: number): { svg: string; height: number } {
  let x = PAD;
  let row = 0;
  const parts: string[] = [];
  names.forEach((n, i) => {
    const w = (n.length + 4) * CHAR_W;
    if (x + w > W - 10 && x > PAD) {
      row++;
      x = PAD;
    }
    parts.push(`<text class="legend" x="${x.toFixed(1)}" y="${y0 + row * LEGEND_ROW}" font-size="11" fill="${COLORS[i % COLORS.length]}">■ ${esc(n)}</text>`);
    x += w;
  });
  return { svg: parts.join(''), height: (row + 1) * LEGEND_ROW };
}

/** Reference lines: a value measured on a real allocator, drawn across the plot. */
export interface Reference {
  name: string;
  value: number;
}

function chart(title: string, runs: RunResult[], value: (s: Sample) => number, unit: string, refs: Reference[] = []): string {
  const series = runs.map((r) => (r.samples ?? []).map((s) => [s.event, value(s)] as const));
  const maxX = Math.max(1, ...series.flat().map(([x]) => x));
  const ys = [...series.flat().map(([, y]) => y), ...refs.map((r) => r.value)];
  const maxY = Math.max(1e-9, ...ys);
  const minPos = Math.min(...ys.filter((y) => y > 0), maxY);
  // a log scale whenever the values span more than two decades (one heap's 7,000 VMAs would
  // flatten another's 1 onto the axis)
  const log = maxY / minPos > 100;
  const lo = log ? Math.pow(10, Math.floor(Math.log10(minPos))) : 0;
  const hi = log ? Math.pow(10, Math.ceil(Math.log10(maxY))) : maxY > 1e-9 ? maxY : 1; // an all-zero chart still reads 0..1
  const px = (x: number) => PAD + (x / maxX) * (W - PAD - 10);
  const py = (y: number) => {
    const f = log ? (Math.log10(Math.max(y, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : y / hi;
    return TOP + PLOT_H - f * PLOT_H;
  };
  const lines = series
    .map((pts, i) => {
      const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      return `<polyline class="series" data-allocator="${esc(runs[i].allocator)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8" points="${d}"/>`;
    })
    .join('\n');
  const refLines = refs
    .map((r, k) => {
      const y = py(r.value).toFixed(1);
      return `<line class="reference" data-allocator="${esc(r.name)}" x1="${PAD}" x2="${W - 10}" y1="${y}" y2="${y}" stroke="#555" stroke-dasharray="5 3"/><text class="reference-label" x="${k % 2 ? PAD + 4 : W - 12}" y="${(Number(y) - 3).toFixed(1)}" font-size="9" text-anchor="${k % 2 ? 'start' : 'end'}" fill="#555">${esc(r.name)} ${esc(fmt(r.value))}</text>`;
    })
    .join('');
  const ticks = (log ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, k) => lo * 10 ** k) : [0, hi / 2, hi])
    .map((t) => `<text class="tick" x="${PAD - 4}" y="${(py(t) + 3).toFixed(1)}" font-size="10" text-anchor="end">${esc(fmt(t))}${unit}</text>`)
    .join('');
  const axisY = TOP + PLOT_H;
  const legend = legendRows(runs.map(label), axisY + 34);
  const h = axisY + 26 + legend.height + 4;
  return `<figure><svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}">
<text x="${PAD}" y="14" font-size="13" font-weight="600">${esc(title)}${log ? ' (log scale)' : ''}</text>
<line x1="${PAD}" y1="${axisY}" x2="${W - 10}" y2="${axisY}" stroke="#888"/>
<line x1="${PAD}" y1="${TOP}" x2="${PAD}" y2="${axisY}" stroke="#888"/>
${ticks}
<text class="axis-label" x="${W - 10}" y="${axisY + 16}" font-size="10" text-anchor="end">${maxX.toLocaleString('en-US')} events</text>
${lines}
${refLines}
${legend.svg}
</svg></figure>`;
}

/** A run's name in a legend: the allocator, and its thread count when it had several. */
function label(r: RunResult): string {
  return r.threads > 1 ? `${r.allocator} ×${r.threads}` : r.allocator;
}

function fmt(n: number): string {
  // long numbers shortened, so a tick label fits left of the axis
  if (n >= 1e7) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 0.01 || n === 0) return n.toFixed(n >= 10 ? 1 : 2);
  return n.toPrecision(1);
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

/** Per workload: the metrics that answer "which allocator, at what cost", the best of each marked. */
function summary(workload: string, runs: RunResult[]): string {
  const metrics: [string, (r: RunResult) => number, 'low' | 'high', (n: number) => string][] = [
    ['VMAs peak', (r) => r.vmaPeak, 'low', String],
    ['mmap_lock writes', (r) => r.mmapLockWrite, 'low', String],
    ['page faults', (r) => Object.values(r.faults).reduce((a, b) => a + b, 0), 'low', String],
    ['TLB shootdowns', (r) => r.tlbFlushes, 'low', String],
    ['RSS peak MiB', (r) => r.rssPeakBytes / MiB, 'low', (n) => n.toFixed(1)],
    ['THP %', (r) => r.thpCoverage * 100, 'high', (n) => n.toFixed(0)],
    ['time ms', (r) => r.simulatedNs / 1e6, 'low', (n) => n.toFixed(1)],
  ];
  const best = metrics.map(([, f, dir]) => {
    const vals = runs.map(f);
    return dir === 'low' ? Math.min(...vals) : Math.max(...vals);
  });
  const rows = runs
    .map((r) => `<tr class="${r.allocator.startsWith('real:') ? 'real' : ''}"><td>${esc(label(r))}</td>${metrics.map(([, f, , show], k) => `<td class="${f(r) === best[k] ? 'best' : ''}">${show(f(r))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="summary" data-workload="${esc(workload)}"><thead><tr><th>allocator</th>${metrics.map(([n]) => `<th>${n}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>
<p class="note">Best of each column in bold. <code>real:</code> rows ran natively on the live kernel (time measured); the others are simulated (time priced by the profile's costs).</p>`;
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
  const axisY = TOP + PLOT_H;
  const px = (t: number) => PAD + (counts.indexOf(t) / (counts.length - 1)) * (W - PAD - 10);
  const py = (y: number) => axisY - (y / maxY) * PLOT_H;
  const lines = allocators
    .map((a, i) => {
      const pts = counts.map((t) => runs.find((r) => r.allocator === a && r.threads === t)).filter((r): r is RunResult => !!r);
      return `<polyline class="series threads" data-allocator="${esc(a)}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.8" points="${pts.map((r) => `${px(r.threads).toFixed(1)},${py(tput(r)).toFixed(1)}`).join(' ')}"/>`;
    })
    .join('\n');
  const ticks = counts.map((t) => `<text class="axis-label" x="${px(t).toFixed(1)}" y="${axisY + 14}" font-size="10" text-anchor="middle">${t}</text>`).join('');
  const legend = legendRows(allocators, axisY + 32);
  const h = axisY + 22 + legend.height + 4;
  const rows = runs
    .map((r) => `<tr><td>${esc(r.allocator)}</td><td>${r.threads}</td><td>${Math.round(tput(r))}</td><td>${((r.lockWaitNs.mmapLockRead + r.lockWaitNs.mmapLockWrite + r.lockWaitNs.vmaLock) / 1e6).toFixed(2)}</td><td>${(r.shootdownNs / 1e6).toFixed(2)}</td><td>${r.tlbFlushes}</td></tr>`)
    .join('\n');
  return `<h3>${esc(workload)}: threads</h3><figure><svg role="img" aria-label="throughput by threads" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}">
<text x="${PAD}" y="14" font-size="13" font-weight="600">events per simulated second, by threads</text>
<line x1="${PAD}" y1="${axisY}" x2="${W - 10}" y2="${axisY}" stroke="#888"/><line x1="${PAD}" y1="${TOP}" x2="${PAD}" y2="${axisY}" stroke="#888"/>
<text class="tick" x="${PAD - 4}" y="${TOP + 6}" font-size="10" text-anchor="end">${esc(fmt(maxY))}</text>${ticks}
${lines}
${legend.svg}</svg></figure>
<table class="threads"><thead><tr><th>allocator</th><th>threads</th><th>events/s</th><th>lock wait ms</th><th>shootdown ms</th><th>TLB flushes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReport(runs: RunResult[], title = 'uffd-malloc: allocator comparison'): string {
  const byWorkload = new Map<string, RunResult[]>();
  for (const r of runs) byWorkload.set(r.workload, [...(byWorkload.get(r.workload) ?? []), r]);
  const threadSections = [...byWorkload].map(([w, rs]) => threadsSection(w, rs.filter((r) => !r.allocator.startsWith('real:')))).join('\n');
  const sections = [...byWorkload]
    .map(([w, rs]) => {
      const sim = rs.filter((r) => !r.allocator.startsWith('real:'));
      const real = rs.filter((r) => r.allocator.startsWith('real:'));
      const ref = (f: (r: RunResult) => number) => real.map((r) => ({ name: r.allocator, value: f(r) }));
      return `<section><h2>${esc(w)}</h2>
${summary(w, rs)}
<div class="charts">
${chart('VMA count', sim, (s) => s.vmas, '', ref((r) => r.vmaPeak))}
${chart('RSS', sim, (s) => s.rssBytes / MiB, ' MiB', ref((r) => r.rssPeakBytes / MiB))}
${chart('THP coverage (THP bytes / RSS)', sim, (s) => (s.rssBytes ? s.thpBytes / s.rssBytes : 0), '', ref((r) => r.thpCoverage))}
${chart('mmap_lock writes (cumulative)', sim, (s) => s.lockWrites, '', ref((r) => r.mmapLockWrite))}
${chart('page faults (cumulative)', sim, (s) => s.faults, '', ref((r) => Object.values(r.faults).reduce((a, b) => a + b, 0)))}
${chart('TLB shootdowns (cumulative)', sim, (s) => s.tlbFlushes, '')}
</div></section>`;
    })
    .join('\n');
  const data = JSON.stringify(runs.map(({ samples: _s, ...r }) => r)).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
.charts{display:flex;flex-wrap:wrap;gap:1em}
td.best{font-weight:700;background:#e8f4e8}
tr.real td{color:#555;font-style:italic}
p.note{color:#666;font-size:12px}
figure{margin:0}
table{border-collapse:collapse;margin-top:1em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
</style></head>
<body><h1>${esc(title)}</h1>
<p>Each run replays one workload through one allocator over the simulated Linux mm; every allocated byte is written.
Simulated time prices kernel work with the costs of the profile each run names (<code>profile</code> in the embedded results).</p>
${sections}
${threadSections ? `<h2>Threads</h2>\n${threadSections}` : ''}
<h2>Final comparison</h2>
${table(runs)}
${defragTable(runs)}
<script type="application/json" id="results">${data}</script>
</body></html>
`;
}
