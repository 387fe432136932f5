// Named limits of the S3 door (STYLE.md §12). Where S3 documents a limit, we use S3's number.
import { assert } from '../dedup/errors.js';
import { objectChunkerParams } from '../dedup/index.js';
import { defaultChunkStoreLimits } from '../blockstore/chunks/index.js';

export const gatewayLimits = {
  objectKeyBytesMax: 1024,
  userMetadataBytesMax: 2 * 1024,
  objectBytesMax: 5 * 1024 ** 3,          // single PUT
  partBytesMin: 5 * 1024 ** 2,            // every part but the last
  partBytesMax: 5 * 1024 ** 3,
  partNumberMax: 10_000,
  listKeysMax: 1000,
  deleteObjectsKeysMax: 1000,
  uploadsListedMax: 10_000,              // in-progress uploads per bucket one listing reads
  xmlBodyBytesMax: 2 * 1024 * 1024,       // CompleteMultipartUpload with 10,000 parts fits
  headerBytesMax: 16 * 1024,
  urlBytesMax: 8 * 1024,
  connectionTimeoutMs: 0 + 5 * 60_000,
  requestTimeoutMs: 60 * 60_000,          // a 5 GiB PUT on a slow link
  keepAliveTimeoutMs: 65_000,
  bucketRecordsCachedMax: 10_000,         // decoded bucket records kept by BucketService
} as const;

assert(gatewayLimits.partBytesMin < gatewayLimits.partBytesMax, 'part limits out of order');
assert(gatewayLimits.objectBytesMax >= gatewayLimits.partBytesMax, 'a part cannot exceed an object');
assert(gatewayLimits.listKeysMax <= gatewayLimits.deleteObjectsKeysMax, 'list and delete batch sizes are both 1000 in S3');

// The largest single PUT must commit in one batch: one count update per distinct chunk.
assert(gatewayLimits.objectBytesMax / objectChunkerParams.minBytes <= defaultChunkStoreLimits.commitOpsMax,
  'a maximum-size object of minimum-size chunks must fit one chunk-store commit');
