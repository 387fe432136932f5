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
  // A full GC is asked for around the commit of an object this large and after each this many
  // bytes of a GET: both leave promoted garbage that V8 kept in the old generation ~60 MiB past
  // what it needed (service/objects.ts, routes/send-pieces.ts).
  collectGarbageBytes: 1024 ** 3,
} as const;

/**
 * Whole-body digests (the MD5 ETag, x-amz-checksum-*) of large bodies run on one digest worker
 * thread (checksums/digest-thread.ts): on a 1 GiB PUT they were ~20 % of the main thread's CPU,
 * the thread that also decodes, chunks and serves the sockets.
 */
export const digestLimits = {
  /** Bodies declared at least this long hash off-thread; shorter ones hash inline (a thread hop
   *  and a staging copy cost more than hashing a few hundred KiB: MD5 ~1.5 ms per MiB). */
  offThreadBytesMin: 1024 * 1024,
  /** Bytes copied per message to the worker: ~4,000 messages per GiB (~20 µs each). */
  stagingBytes: 256 * 1024,
  /** Staging buffers one body may have at the worker before its writer waits (bounded memory). */
  buffersInFlightPerBody: 4,
  /** Staging buffers the worker has returned and the process keeps for reuse (no new ArrayBuffer
   *  per message: external allocations drive V8's major GCs). */
  buffersPooledMax: 16,
  /** Bodies hashing at once on the worker; more is a caller leaking sessions (a bug). */
  sessionsMax: 1 << 16,
  /** Worker V8 heap (it holds only hash states): young and old generation, MiB. */
  workerYoungGenerationMb: 2,
  workerOldGenerationMb: 64,
} as const;

assert(digestLimits.stagingBytes >= 64 * 1024 && digestLimits.stagingBytes <= digestLimits.offThreadBytesMin, 'a body sent off-thread spans several staging buffers');
assert(digestLimits.buffersInFlightPerBody >= 2, 'the worker hashes one buffer while the next fills');

assert(gatewayLimits.partBytesMin < gatewayLimits.partBytesMax, 'part limits out of order');
assert(gatewayLimits.objectBytesMax >= gatewayLimits.partBytesMax, 'a part cannot exceed an object');
assert(gatewayLimits.listKeysMax <= gatewayLimits.deleteObjectsKeysMax, 'list and delete batch sizes are both 1000 in S3');

// The largest single PUT must commit in one batch: one count update per distinct chunk.
assert(gatewayLimits.objectBytesMax / objectChunkerParams.minBytes <= defaultChunkStoreLimits.commitOpsMax,
  'a maximum-size object of minimum-size chunks must fit one chunk-store commit');
