// The volumes layer's public surface: import blockstore/volumes only through this file.
export { VolumeService, type VolumeInfo, type VolumeServiceDeps } from './volume-service.js';
export { FileJournalStore, MemoryJournalStore, type JournalStore } from './journal.js';
export { VolumeError, volumeErrorCodes, isVolumeError, type VolumeErrorCode } from './errors.js';
export type { SnapshotRecordV1, VolumeRecordV1 } from './records.js';
export * as volumeLimits from './limits.js';
export { parseSize } from './size.js';
