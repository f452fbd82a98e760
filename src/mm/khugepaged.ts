// khugepaged (mm/khugepaged.c): a scanner that walks the THP-eligible VMAs of an mm and collapses
// aligned 2 MiB blocks of small pages into THPs, at most max_ptes_none empty PTEs per block and
// never over a hole a userfaultfd expects to stay missing. An experiment steps it explicitly:
// here it never runs on its own.
import type { Mm } from './mm.js';
import { collapseBlock, thpAllowed } from './thp.js';
import { HPAGE_PMD_NR, PMD_SIZE } from './uapi.js';

export interface KhugepagedResult {
  /** Blocks looked at. */
  scanned: number;
  /** Blocks collapsed into THPs. */
  collapsed: number;
  /** Blocks refused, by reason. */
  refused: Record<string, number>;
}

/** The scan position that survives between passes (khugepaged_scan). */
const cursors = new WeakMap<Mm, number>();

/**
 * One khugepaged pass: look at up to pages_to_scan pages' worth of blocks from where the last
 * pass stopped (or, with `full`, at every block), collapsing what qualifies.
 */
export function khugepagedScan(mm: Mm, full: boolean): KhugepagedResult {
  const res: KhugepagedResult = { scanned: 0, collapsed: 0, refused: {} };
  const budget = full ? Infinity : Math.max(1, Math.floor(mm.kernel.settings.khugepagedPagesToScan / HPAGE_PMD_NR));
  let at = full ? 0 : (cursors.get(mm) ?? 0);
  let wrapped = false;
  while (res.scanned < budget) {
    const vma = mm.vmas.findFrom(at);
    if (!vma) {
      if (full || wrapped) break;
      wrapped = true;
      at = 0;
      continue;
    }
    const first = Math.max(Math.ceil(vma.start / PMD_SIZE) * PMD_SIZE, Math.ceil(at / PMD_SIZE) * PMD_SIZE);
    if (!thpAllowed(mm, vma, 'khugepaged') || first + PMD_SIZE > vma.end) {
      at = vma.end;
      continue;
    }
    // blocks without a page table are not khugepaged's business (SCAN_PMD_NULL)
    let h = first;
    for (; h + PMD_SIZE <= vma.end && res.scanned < budget; h += PMD_SIZE) {
      const e = mm.pt.pmd(h);
      if (!e || e.huge !== 0) continue;
      res.scanned++;
      const r = collapseBlock(mm, vma, h, 'khugepaged');
      if (r === null) res.collapsed++;
      else res.refused[r] = (res.refused[r] ?? 0) + 1;
    }
    at = h + PMD_SIZE > vma.end ? vma.end : h;
  }
  cursors.set(mm, at);
  return res;
}
