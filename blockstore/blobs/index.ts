export { BlobStore, refDeltasOf, concatManifests } from './blob-store.js';
export type { BlobStoreDeps, BlobWriteOptions, WrittenBlob, ByteRange } from './blob-store.js';
export { blobLimits } from './limits.js';
