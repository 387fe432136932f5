export { BlobStore, refDeltasOf, concatManifests } from './blob-store.js';
export type { BlobStoreDeps, BlobWriteOptions, WrittenBlob, ByteRange } from './blob-store.js';
export { blobLimits, sealPoolLimits } from './limits.js';
export { BlobError, blobErrorCodes, type BlobErrorCode } from './errors.js';
// SealPool itself is for benches and tests; services share the process-wide pool via the functions.
export {
  SealPool, openChunkOffThread, openLeasedOffThread, openPagedBlockOffThread, sealChunkOffThread, sealLeasedOffThread, sealPagedBlockOffThread,
  type Leased, type SealFormat, type SealPoolOptions,
} from './seal-pool.js';
export { siblingModule, startModuleWorker } from './module-worker.js';
