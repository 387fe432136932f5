export { BlobStore, refDeltasOf, concatManifests } from './blob-store.js';
export type { BlobStoreDeps, BlobWriteOptions, WrittenBlob, ByteRange } from './blob-store.js';
export { blobLimits, sealPoolLimits } from './limits.js';
export { BlobError, blobErrorCodes, type BlobErrorCode } from './errors.js';
export { openChunkOffThread, sealChunkOffThread } from './seal-pool.js';
