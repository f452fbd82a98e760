// /proc/<pid>/maps, smaps, smaps_rollup and /proc/vmstat in the kernel's own text formats
// (fs/proc/task_mmu.c: show_map_vma, show_smap, __show_smap; mm/vmstat.c).
import { FRAME_ANON, FRAME_LAZYFREE, ZERO_PFN } from './frames.js';
import { VMSTAT_EVENTS } from './kernel.js';
import type { Mm } from './mm.js';
import { thpAllowed, vmaHasHugeBlock } from './thp.js';
import { HPAGE_PMD_NR, PAGE_SIZE } from './uapi.js';
import { permString, VM_HUGETLB, VM_LOCKED, VM_MNEMONICS, type Vma } from './vma.js';
import type { ShmemFile } from './shmem.js';

/** Per-VMA memory statistics, in bytes (struct mem_size_stats). */
export interface VmaStats {
  rss: number;
  pss: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  anonymous: number;
  lazyFree: number;
  anonHuge: number;
  shmemPmdMapped: number;
  locked: number;
  sharedHugetlb: number;
  privateHugetlb: number;
  pssAnon: number;
  pssShmem: number;
}

function emptyStats(): VmaStats {
  return {
    rss: 0,
    pss: 0,
    sharedClean: 0,
    sharedDirty: 0,
    privateClean: 0,
    privateDirty: 0,
    anonymous: 0,
    lazyFree: 0,
    anonHuge: 0,
    shmemPmdMapped: 0,
    locked: 0,
    sharedHugetlb: 0,
    privateHugetlb: 0,
    pssAnon: 0,
    pssShmem: 0,
  };
}

/** smap_gather_stats: walk the VMA's page table. The zero pages are not counted (vm_normal_page). */
export function vmaStats(mm: Mm, vma: Vma): VmaStats {
  const s = emptyStats();
  const frames = mm.frames;
  const account = (pfn: number, size: number) => {
    const flags = frames.flags(pfn);
    const anon = (flags & FRAME_ANON) !== 0;
    // the page cache holds one reference of a shmem page; the rest are mappings
    const mapcount = Math.max(1, frames.refs(pfn) - (anon ? 0 : 1));
    const clean = (flags & FRAME_LAZYFREE) !== 0;
    s.rss += size;
    s.pss += size / mapcount;
    if (anon) {
      s.anonymous += size;
      s.pssAnon += size / mapcount;
      if (clean) s.lazyFree += size;
    } else s.pssShmem += size / mapcount;
    if (mapcount > 1) {
      if (clean) s.sharedClean += size;
      else s.sharedDirty += size;
    } else if (clean) s.privateClean += size;
    else s.privateDirty += size;
  };
  for (const e of mm.pt.pmdsIn(vma.start, vma.end)) {
    if (e.hugetlb) {
      // hugetlbfs pages are not Rss: smaps shows them as Shared_Hugetlb / Private_Hugetlb
      if (vma.isShared) s.sharedHugetlb += HPAGE_PMD_NR * PAGE_SIZE;
      else s.privateHugetlb += HPAGE_PMD_NR * PAGE_SIZE;
      continue;
    }
    if (e.huge > 0) {
      for (let i = 0; i < HPAGE_PMD_NR; i++) account(e.huge + i, PAGE_SIZE);
      s.anonHuge += HPAGE_PMD_NR * PAGE_SIZE;
      continue;
    }
  }
  mm.pt.forEachPte(vma.start, vma.end, (_a, v) => {
    if (v > 0 && v !== ZERO_PFN) account(v, PAGE_SIZE);
  });
  if (vma.flags & VM_LOCKED) s.locked = s.rss;
  return s;
}

const hex8 = (x: number) => x.toString(16).padStart(8, '0');

/** The name column of a maps line, or null. */
function vmaName(mm: Mm, vma: Vma): string | null {
  if (vma.file) return vma.file.path;
  if (vma.anonName) return vma.anonName;
  if (vma.start <= mm.brk && vma.end >= mm.startBrk) return '[heap]';
  return null;
}

/** show_map_vma: one line of /proc/PID/maps (without the newline). */
export function mapsLine(mm: Mm, vma: Vma): string {
  const file = vma.file as ShmemFile | null;
  const pgoff = file ? vma.pgoff * PAGE_SIZE : 0;
  const dev = file ? '00:01' : '00:00';
  const inode = file ? file.inode : 0;
  let line = `${hex8(vma.start)}-${hex8(vma.end)} ${permString(vma.flags)} ${hex8(pgoff)} ${dev} ${inode} `;
  const name = vmaName(mm, vma);
  if (name !== null) line = line.padEnd(72, ' ') + ' ' + name;
  return line;
}

export function procMaps(mm: Mm): string {
  const out: string[] = [];
  for (const v of mm.vmas) out.push(mapsLine(mm, v), '\n');
  return out.join('');
}

const kb = (label: string, bytes: number) => label.padEnd(16, ' ') + String(Math.floor(bytes / 1024)).padStart(8, ' ') + ' kB\n';

function showSmap(s: VmaStats, what: 'vma' | 'rollup'): string {
  const rollup = what === 'rollup';
  let out = kb('Rss:', s.rss) + kb('Pss:', s.pss) + kb('Pss_Dirty:', s.pss - s.privateClean - s.sharedClean);
  if (rollup) out += kb('Pss_Anon:', s.pssAnon) + kb('Pss_File:', 0) + kb('Pss_Shmem:', s.pssShmem);
  out +=
    kb('Shared_Clean:', s.sharedClean) +
    kb('Shared_Dirty:', s.sharedDirty) +
    kb('Private_Clean:', s.privateClean) +
    kb('Private_Dirty:', s.privateDirty) +
    kb('Referenced:', s.rss) +
    kb('Anonymous:', s.anonymous) +
    kb('KSM:', 0) +
    kb('LazyFree:', s.lazyFree) +
    kb('AnonHugePages:', s.anonHuge) +
    kb('ShmemPmdMapped:', s.shmemPmdMapped) +
    kb('FilePmdMapped:', 0) +
    kb('Shared_Hugetlb:', s.sharedHugetlb) +
    kb('Private_Hugetlb:', s.privateHugetlb) +
    kb('Swap:', 0) +
    kb('SwapPss:', 0) +
    kb('Locked:', s.locked);
  return out;
}

export function vmFlagsString(vma: Vma): string {
  let out = 'VmFlags:';
  for (const [bit, name] of VM_MNEMONICS) if (vma.flags & bit) out += ' ' + name;
  return out + ' \n';
}

export function procSmaps(mm: Mm): string {
  // joined once at the end: a string grown by += is a rope that every later search walks
  const out: string[] = [];
  for (const v of mm.vmas) {
    const s = vmaStats(mm, v);
    const pageSize = v.flags & VM_HUGETLB ? 2 * 1024 * 1024 : PAGE_SIZE;
    out.push(
      mapsLine(mm, v) + '\n',
      kb('Size:', v.end - v.start) + kb('KernelPageSize:', pageSize) + kb('MMUPageSize:', pageSize),
      showSmap(s, 'vma'),
      `THPeligible:    ${String(thpAllowed(mm, v, 'smaps') && vmaHasHugeBlock(v) ? 1 : 0).padStart(8, ' ')}\n`,
      vmFlagsString(v),
    );
  }
  return out.join('');
}

export function procSmapsRollup(mm: Mm): string {
  const total = emptyStats();
  let first = 0;
  let last = 0;
  for (const v of mm.vmas) {
    if (!last) first = v.start;
    last = v.end;
    const s = vmaStats(mm, v);
    for (const k of Object.keys(total) as (keyof VmaStats)[]) total[k] += s[k];
  }
  const head = `${hex8(first)}-${hex8(last)} ---p 00000000 00:00 0 `.padEnd(72, ' ') + ' [rollup]\n';
  return head + showSmap(total, 'rollup');
}

/** /proc/vmstat: the counters this simulator keeps, as `name value` lines. */
export function procVmstat(mm: Mm): string {
  const k = mm.kernel;
  const lines = [
    `nr_anon_pages ${mm.rssAnon}`,
    `nr_shmem ${mm.rssShmem}`,
    `nr_anon_transparent_hugepages ${mm.anonHugePmds}`,
    ...VMSTAT_EVENTS.map((e) => `${e} ${k.vmstat[e]}`),
  ];
  return lines.join('\n') + '\n';
}

