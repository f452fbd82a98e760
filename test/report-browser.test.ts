// The report page in a real headless browser (Debian's chromium through playwright-core): it loads
// without console errors and its charts and table hold the runs' numbers. Skipped, with the reason,
// where no chromium is installed; .ci/run installs it so CI runs this.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunResult, runOne } from '../src/experiment/run.js';
import { renderReport } from '../src/report/html.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) console.warn('report-browser.test: no chromium at /usr/bin/chromium: the browser test is skipped (apt-get install chromium)');

describe.skipIf(!CHROMIUM)('report page in headless chromium', () => {
  it('loads cleanly and shows the numbers of the runs', async () => {
    const { chromium } = await import('playwright-core');
    const w = WORKLOADS.churn.make({ seed: 5, events: 10000 });
    const runs: RunResult[] = ['glibc', 'guarded', 'uffd-thp', 'uffd-copy', 'uffd-batch', 'mmap', 'uffd'].map((a) => runOne(w, a, { keepSamples: true, samples: 30 }));
    // a real allocator's row, as --real adds it (no samples: drawn as reference lines)
    runs.push({ ...runs[0], allocator: 'real:glibc', samples: undefined, vmaPeak: 5, mmapLockWrite: 200 });
    const file = join(mkdtempSync(join(tmpdir(), 'report-')), 'report.html');
    writeFileSync(file, renderReport(runs));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto('file://' + file);
      expect(errors).toEqual([]);
      // six charts over the run, each with a line per simulated run; the real run as reference lines
      expect(await page.locator('svg').count()).toBe(6);
      expect(await page.locator('polyline.series').count()).toBe(7 * 6);
      expect(await page.locator('line.reference[data-allocator="real:glibc"]').count()).toBe(5);
      // the guarded heap's thousands of VMAs put the VMA chart on a log scale, so the others show
      expect(await page.locator('svg[aria-label="VMA count"] text').first().textContent()).toBe('VMA count (log scale)');
      // no legend entry overlaps another, an axis label or a tick
      const overlaps = await page.evaluate(() => {
        const out: string[] = [];
        for (const svg of Array.from(document.querySelectorAll('svg'))) {
          const boxes = Array.from(svg.querySelectorAll('text.legend, text.axis-label, text.tick')).map((t) => [t.textContent, t.getBoundingClientRect()] as const);
          for (let i = 0; i < boxes.length; i++)
            for (let j = i + 1; j < boxes.length; j++) {
              const [a, ra] = boxes[i];
              const [b, rb] = boxes[j];
              if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) out.push(`${svg.getAttribute('aria-label')}: '${a}' and '${b}'`);
            }
        }
        return out;
      });
      expect(overlaps).toEqual([]);
      // the summary marks the best value of each column
      const best = await page.locator('table.summary td.best').evaluateAll((tds) => tds.map((td) => (td.parentElement!.firstElementChild as HTMLElement).textContent + ':' + Array.from(td.parentElement!.children).indexOf(td)));
      const fewestVmas = Math.min(...runs.map((r) => r.vmaPeak));
      for (const r of runs.filter((x) => x.vmaPeak === fewestVmas)) expect(best).toContain(`${r.allocator}:1`);
      const cells = await page.locator('#comparison tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
      expect(cells.map((c) => [c[1], Number(c[4]), Number(c[6])])).toEqual(runs.map((r) => [r.allocator, r.vmaPeak, r.mmapLockWrite]));
      const embedded = await page.evaluate(() => JSON.parse(document.getElementById('results')!.textContent!));
      expect(embedded.map((r: { thpCoverage: number }) => r.thpCoverage)).toEqual(runs.map((r) => r.thpCoverage));
    } finally {
      await browser.close();
    }
  }, 60_000);
});
