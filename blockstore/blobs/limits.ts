import { assert } from '../../dedup/errors.js';
import { chunkBytesMax } from '../../dedup/index.js';

export const blobLimits = {
  /** Ciphertext bytes handed to the chunk store and not yet durable, per writer: bounds PUT memory. */
  putWindowBytes: 8 * 1024 * 1024,
  /**
   * Chunks fetched ahead of the reader on a GET stream: enough to keep both seal-pool workers
   * decrypting while the next reads wait on the index and the disk (≤ 8 × 256 KiB per stream).
   * 16 measured the same as 8 (0.5 GiB GETs, load ~9, A/B alternating), so memory decides.
   */
  readAheadChunks: 8,
  /**
   * Read-ahead refills once this many chunks are consumed, all in one turn: their index lookups
   * share one getMany and their decrypts one batch to the pool (refilling one chunk at a time
   * cost ~20–60 % more GET main-thread CPU in the same A/B).
   */
  readAheadRefillChunks: 4,
  /**
   * Chunks shorter than this are sealed and opened on the calling thread: below it the trip to a
   * worker (a thread wake-up each way, ~10–50 µs) costs more than the crypto (~2–4 µs per KiB).
   * Small objects, and the short last chunk of a stream, stay on the main thread.
   */
  offThreadBytesMin: 16 * 1024,
  /** readAll() is for small blobs (function packages, images' headers), never objects. */
  readAllBytesMax: 256 * 1024 * 1024,
} as const;

/** The process-wide seal pool (seal-pool.ts). */
export const sealPoolLimits = {
  /** Worker threads: two sealing while the main thread chunks reach ~750–800 MB/s (LIMITS.md). */
  workersMax: 2,
  /**
   * Jobs in one postMessage. Each message wakes a thread (~10–30 µs); a 64 KiB seal is ~150 µs,
   * so a few jobs per message keep the overhead small without delaying the first result.
   */
  batchJobsMax: 8,
  /** Payload bytes per batch; a batch always takes at least one job, whatever its size. */
  batchBytesMax: 1024 * 1024,
  /** Batches a worker holds at once: one it works on and one waiting, so it never idles on us. */
  batchesPerWorkerMax: 2,
  /**
   * Released batch buffers (batchBytesMax each) kept for reuse (seal-pool.ts, "Leases"). A PUT
   * holds ~its put window of them in flight; more than this are left to GC.
   */
  freeBatchBuffersMax: 16,
  /** Jobs queued for a worker before callers wait to be admitted (backpressure, no bytes held). */
  queuedJobsMax: 512,
  /** Callers waiting for admission; more is a caller fanning out without bound (a bug). */
  admissionWaitersMax: 1 << 16,
  /** Worker V8 heap: young generation (small: frees crypto output sooner) and old (a bound; tsx needs ~40). */
  workerYoungGenerationMb: 2,
  workerOldGenerationMb: 128,
  /** Bytes a worker seals or opens between the minor GCs it runs itself (seal-worker.ts says why). */
  workerScavengeBytes: 4 * 1024 * 1024,
} as const;

assert(blobLimits.putWindowBytes >= 2 * 1024 * 1024, 'put window must hold at least a few maximum-size chunks');
assert(blobLimits.readAheadChunks >= 1, 'read-ahead needs at least one chunk');
assert(blobLimits.readAheadRefillChunks >= 1 && blobLimits.readAheadRefillChunks <= blobLimits.readAheadChunks, 'a refill is at most the whole read-ahead');
assert(blobLimits.offThreadBytesMin >= 1 && blobLimits.offThreadBytesMin <= 64 * 1024, 'typical chunks (64 KiB average) go to the pool');
assert(sealPoolLimits.workersMax >= 1 && sealPoolLimits.batchJobsMax >= 1 && sealPoolLimits.batchesPerWorkerMax >= 1, 'pool sizes are positive');
assert(sealPoolLimits.batchBytesMax >= 64 * 1024 && sealPoolLimits.batchBytesMax <= 4 * chunkBytesMax, 'a batch holds several typical chunks, not an object');
assert(sealPoolLimits.queuedJobsMax >= sealPoolLimits.batchJobsMax * sealPoolLimits.workersMax * sealPoolLimits.batchesPerWorkerMax, 'the queue can fill every worker');
