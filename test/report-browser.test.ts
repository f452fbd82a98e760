// The report page in a real headless browser (Debian's chromium through playwright-core): it loads
// without console errors and its charts and table hold the runs' numbers. Skipped, with the reason,
// where no chromium is installed; .ci/run installs it so CI runs this.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOne } from '../src/experiment/run.js';
import { renderReport } from '../src/report/html.js';
import { WORKLOADS } from '../src/workloads/synthetic.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) console.warn('report-browser.test: no chromium at /usr/bin/chromium: the browser test is skipped (apt-get install chromium)');

describe.skipIf(!CHROMIUM)('report page in headless chromium', () => {
  it('loads cleanly and shows the numbers of the runs', async () => {
    const { chromium } = await import('playwright-core');
    const w = WORKLOADS.churn.make({ seed: 5, events: 10000 });
    const runs = ['glibc', 'guarded', 'uffd-thp'].map((a) => runOne(w, a, { keepSamples: true, samples: 30 }));
    const file = join(mkdtempSync(join(tmpdir(), 'report-')), 'report.html');
    writeFileSync(file, renderReport(runs));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto('file://' + file);
      expect(errors).toEqual([]);
      expect(await page.locator('svg').count()).toBe(3);
      expect(await page.locator('polyline.series').count()).toBe(9);
      const cells = await page.locator('#comparison tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
      expect(cells.map((c) => [c[1], Number(c[4]), Number(c[6])])).toEqual(runs.map((r) => [r.allocator, r.vmaPeak, r.mmapLockWrite]));
      const embedded = await page.evaluate(() => JSON.parse(document.getElementById('results')!.textContent!));
      expect(embedded.map((r: { thpCoverage: number }) => r.thpCoverage)).toEqual(runs.map((r) => r.thpCoverage));
    } finally {
      await browser.close();
    }
  }, 60_000);
});
