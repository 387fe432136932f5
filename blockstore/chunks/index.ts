export type { ChunkStore, ChunkStoreStats, GcResult, Leased, ScrubResult } from './chunk-store.js';
export { withCiphertext } from './chunk-store.js';
export { nodeDisk, type Disk, type DiskFile } from './disk.js';
export { assertChunkId, chunkIdOf, isChunkId, type ChunkId } from './chunk-id.js';
export { ChunkStoreError, chunkStoreErrorCodes, isChunkStoreError, type ChunkStoreErrorCode } from './errors.js';
export { defaultChunkStoreLimits, type ChunkStoreLimits } from './limits.js';
export { MemoryChunkStore } from './memory-chunk-store.js';
export { openChunkStore, SegmentChunkStore, type OpenChunkStoreOptions } from './segment-chunk-store.js';
