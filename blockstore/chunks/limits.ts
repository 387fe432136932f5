// Named bounds of the chunk store (STYLE.md §12). `openChunkStore` takes overrides (tests use tiny
// segments to force rolls) and re-checks the same relationships, so no override can break them.
import { assert } from '../../dedup/errors.js';
import { metaLimits } from '../meta/limits.js';
import { recordBytesOf, segmentHeaderBytes } from './segment-format.js';

/** AES-GCM / ChaCha20-Poly1305 tag appended by dedup's deterministic AEAD. */
export const aeadTagBytes = 16;

export interface ChunkStoreLimits {
  /** Largest plaintext chunk the chunker emits (dedup/ FastCDC max is ≤ this). */
  chunkBytesMax: number;
  /** Largest ciphertext the store accepts: a chunk plus its AEAD tag. */
  chunkCiphertextBytesMax: number;
  /** A segment rolls before a record would take it past this size. */
  segmentBytesMax: number;
  /** Puts sharing one segment fsync + one index batch. */
  groupCommitMax: number;
  /** Bytes written per group commit, so one group never buffers unbounded memory. */
  groupCommitBytesMax: number;
  /** Commits coalesced into one MetaStore batch. */
  commitGroupMax: number;
  /** Ids plus metaOps in one caller's commit (must fit one MetaStore batch). */
  commitOpsMax: number;
  /** A commit naming more ids goes alone, its count updates staged a slice of this many ids at
   *  a time straight into one MetaStore batch (batchFrom) instead of all at once as objects. */
  commitSliceIds: number;
  /** A sealed segment is compacted when live bytes / segment bytes falls below this. */
  gcLiveFractionMax: number;
  /** Segments compacted per gc() call, so one call is bounded in time and I/O. */
  gcSegmentsPerRunMax: number;
  /** Bytes of live chunks GC reads before appending them (bounds GC memory). */
  gcCopyWindowBytesMax: number;
  /** Index lookups answered by one MetaStore.getMany (index-lookups.ts). */
  indexLookupKeysMax: number;
  /** Chunk locations get() keeps in memory (location-cache.ts); ~200 B each. */
  locationCacheEntriesMax: number;
  /** Reads in flight during scrub and recovery. */
  readConcurrencyMax: number;
  /** Size of each buffer readCiphertextLeased reuses (read-buffers.ts); a longer read allocates. */
  readBufferBytes: number;
  /** Read buffers pooled at once, lent or free; reads past them allocate their own. */
  readBuffersPooledMax: number;
  /** Reference counts are stored in 48 bits. */
  refCountMax: number;
}

export const defaultChunkStoreLimits: ChunkStoreLimits = Object.freeze({
  chunkBytesMax: 1024 * 1024,
  chunkCiphertextBytesMax: 1024 * 1024 + aeadTagBytes,
  segmentBytesMax: 256 * 1024 * 1024,
  groupCommitMax: 1024,
  groupCommitBytesMax: 64 * 1024 * 1024,
  commitGroupMax: 1024,
  // A 5 GiB single PUT (S3's limit) of 16 KiB minimum chunks names 327,680 chunks, all of which
  // must change count in the one batch that makes the object visible.
  commitOpsMax: 400_000,
  // Staged all at once, a 5 GiB object's 82k count updates took ~+50 MB of heap at its commit;
  // in slices of 4096 a slice outlived V8's young generation and was promoted (+29 MiB heap at an
  // 80k-id commit), in slices of 1024 or 2048 +8 MiB, the commit as fast (~0.75 s, measured in process).
  commitSliceIds: 1024,
  gcLiveFractionMax: 0.5,
  gcSegmentsPerRunMax: 64,
  gcCopyWindowBytesMax: 32 * 1024 * 1024,
  // Past a few dozen keys the per-key cost stops falling (~4 µs); a full commit group is 1024.
  indexLookupKeysMax: 256,
  // 1 GiB of 64 KiB chunks, ~3 MiB: a GET soon after its PUT (or a re-read) skips the index.
  locationCacheEntriesMax: 16_384,
  readConcurrencyMax: 16,
  // A record header and a 256 KiB object chunk (dedup's largest) with its tag, or a volume block.
  readBufferBytes: 320 * 1024,
  // A few GETs' read-ahead (8 chunks each; blobs/limits.ts) at once: ~10 MiB at most, held.
  readBuffersPooledMax: 32,
  refCountMax: 2 ** 48 - 1,
});

export function resolveLimits(overrides: Partial<ChunkStoreLimits> = {}): ChunkStoreLimits {
  const limits: ChunkStoreLimits = { ...defaultChunkStoreLimits, ...overrides };
  assertLimits(limits);
  return Object.freeze(limits);
}

export function assertLimits(limits: ChunkStoreLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    assert(typeof value === 'number' && value > 0, `chunk store limit ${name} must be > 0 (0 never means unlimited)`);
  }
  assert(limits.chunkCiphertextBytesMax >= limits.chunkBytesMax + aeadTagBytes, 'ciphertext max holds a full chunk and its tag');
  const recordBytesMax = recordBytesOf(limits.chunkCiphertextBytesMax);
  assert(limits.segmentBytesMax >= segmentHeaderBytes + recordBytesMax, 'one largest record fits an empty segment');
  assert(limits.segmentBytesMax <= 2 ** 48, 'segment offsets fit the 48-bit index field');
  assert(limits.groupCommitBytesMax >= recordBytesMax, 'one largest record fits a group commit');
  assert(limits.gcCopyWindowBytesMax >= limits.chunkCiphertextBytesMax, 'GC copy window holds a largest chunk');
  assert(limits.gcLiveFractionMax <= 1, 'gcLiveFractionMax is a fraction');
  assert(limits.commitOpsMax * 2 <= metaLimits.batchOpsMax, 'a commit (count updates + metaOps) fits one MetaStore batch');
  assert(limits.indexLookupKeysMax <= metaLimits.batchOpsMax, 'one lookup call fits the MetaStore key bound');
  assert(limits.refCountMax <= 2 ** 48 - 1, 'reference counts fit 48 bits');
  for (const name of ['groupCommitMax', 'commitGroupMax', 'gcSegmentsPerRunMax', 'readConcurrencyMax', 'readBufferBytes', 'readBuffersPooledMax', 'commitOpsMax', 'commitSliceIds', 'indexLookupKeysMax', 'locationCacheEntriesMax'] as const) {
    assert(Number.isSafeInteger(limits[name]), `${name} is an integer`);
  }
}

assertLimits(defaultChunkStoreLimits);

/**
 * Small positional reads on the calling thread (disk.ts, SyncReadGate). Through libuv's pool a
 * 4 KiB read cost the main thread ~5–15 µs plus two futex wake-ups (12 % of its samples under
 * volume random reads, in a VM where each wake-up is an inter-processor interrupt); a pread
 * from the page cache costs ~2–20 µs (volume 4 KiB random reads, main-thread bound: ~12k ->
 * ~14–15k IOPS). A read that went to the disk (~0.1 ms here, more elsewhere) blocked the event
 * loop meanwhile: past syncReadSuspectMs the gate checks the block-input count, past
 * syncReadSlowMs it needs no check, and either sends reads to the pool for syncReadBackoffMs,
 * so a cold cache blocks the loop about once per backoff (4 reads a second: ≤ 4 % of the loop
 * at 10 ms a read). The slow bound is past a preemption: on this 2-core VM, with the server's
 * threads and a client busy, cached reads were held 2–8 ms at times, and a 2 ms bound (with a
 * 1 s backoff) kept the gate shut ~40 % of a random-read run.
 */
export const diskReadLimits = Object.freeze({
  syncReadBytesMax: 128 * 1024,
  syncReadSuspectMs: 0.05,
  syncReadSlowMs: 10,
  syncReadBackoffMs: 250,
});

assert(diskReadLimits.syncReadBytesMax <= 1024 * 1024 && diskReadLimits.syncReadSuspectMs < diskReadLimits.syncReadSlowMs && diskReadLimits.syncReadBackoffMs >= 100, 'sync reads stay small, and a slow one backs off for a while');
