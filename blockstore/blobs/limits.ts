import { assert } from '../../dedup/errors.js';

export const blobLimits = {
  /** Ciphertext bytes handed to the chunk store and not yet durable, per writer: bounds PUT memory. */
  putWindowBytes: 8 * 1024 * 1024,
  /** Chunks fetched ahead of the reader on a GET stream. */
  readAheadChunks: 4,
  /** readAll() is for small blobs (function packages, images' headers), never objects. */
  readAllBytesMax: 256 * 1024 * 1024,
} as const;

assert(blobLimits.putWindowBytes >= 2 * 1024 * 1024, 'put window must hold at least a few maximum-size chunks');
assert(blobLimits.readAheadChunks >= 1, 'read-ahead needs at least one chunk');
