// The simulated kernel's public surface.
export * from './uapi.js';
export { Process, type ProcessOptions, type SignalHandler, MFD_CLOEXEC, MFD_HUGETLB, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from './process.js';
export { Kernel, type KernelSettings, type ThpMode, DEFAULT_SETTINGS, VMSTAT_EVENTS } from './kernel.js';
export { Mm } from './mm.js';
export { FaultHang } from './access.js';
export type { LockCounts } from './locks.js';
export { type FaultKind, FAULT_KINDS } from './fault-kinds.js';
export { vmaStats, type VmaStats } from './proc.js';
export type { KhugepagedResult } from './khugepaged.js';
