// The chunk store seam (STYLE.md §4): ciphertext chunks by id = sha256(ciphertext), reference
// counts, garbage collection. It knows nothing of keys or plaintext (ARCHITECTURE.md, Layers).
import type { SealedChunk } from '../../dedup/index.js';
import type { MetaOp } from '../meta/meta-store.js';
import { assert } from '../../dedup/errors.js';
import type { ChunkId } from './chunk-id.js';

export interface GcResult { chunksFreed: number; bytesFreed: number; segmentsCompacted: number }
export interface ScrubResult { chunksChecked: number; corrupt: ChunkId[]; missing: ChunkId[] }
export interface ChunkStoreStats {
  /** Chunks in the index, including unreferenced ones not yet collected. */
  chunks: number;
  /** Ciphertext bytes of chunks GC would keep now (referenced or pinned). */
  liveBytes: number;
  /** Bytes of all segment files (headers, framing and garbage included). */
  segmentBytes: number;
  segments: number;
}

/**
 * Life of a chunk: put → pinned, count 0 → commit(+n) → unpinned, count n → commit(−n) → count 0
 * → gc() frees it. A chunk with count 0 that is not pinned is garbage.
 *
 * Durability: put and commit resolve only when durable (kill -9 or power loss cannot undo them).
 * Concurrent calls share fsyncs (group commit). Segment bytes are fsynced before the index
 * entries that point at them.
 *
 * Pins are in memory (a crash drops them, with the unfinished writes they protected) and are
 * counted: each put takes one pin, each commit releases one per id with a positive delta, and
 * unpin releases one per listed id. So a writer puts each distinct chunk once and commits it
 * once (a repeated chunk: one put, delta n). Racing writers on one chunk each hold their own pin.
 * A commit whose positive delta meets an absent chunk fails with ChunkMissing and writes nothing —
 * never a count on absent bytes.
 *
 * Buffer ownership: put reads `ciphertext` until it settles and does not copy it; the caller must
 * not mutate it before then, and may reuse it once it settled (either way): nothing here keeps a
 * reference (the seal pool's leases rely on it). get returns a fresh Buffer owned by the caller.
 *
 * Integrity: id = sha256(ciphertext) is what lets the store verify without keys (ARCHITECTURE.md).
 * Every read (get, scrub, GC's copies) re-hashes and answers ChunkCorrupt on a mismatch, so wrong
 * bytes are never returned whoever put them. readCiphertext is the one exception: its callers hold
 * the key and verify by the AEAD tag instead. put also hashes, as an assertion against caller
 * bugs; putSealed skips that second hash for chunks straight from dedup's seal, which computed
 * the id from these very bytes (on a PUT the hash is ~26 % of the CPU: LIMITS.md). A forged
 * SealedChunk is still never served; it only makes its id unreadable (ChunkCorrupt, found by
 * scrub) until GC frees it — so anything not fresh from the seal goes through put.
 *
 * Errors: ChunkMissing / ChunkCorrupt (ChunkStoreError) for data the store cannot return intact;
 * AssertionError for caller bugs (put with id ≠ sha256(ciphertext), counts below 0, oversize chunks,
 * metaOps in the store's own namespaces). After a disk error the store is failed and every call
 * rejects with ChunkStoreFailed; reopening recovers from disk.
 */
export interface ChunkStore {
  /** Verifies id = sha256(ciphertext); appends unless present; pins id until commit/unpin. */
  put(id: ChunkId, ciphertext: Uint8Array): Promise<void>;
  /** put for a chunk as dedup's seal returned it (id computed from these bytes): no re-hash. Reads only id and ciphertext. */
  putSealed(chunk: SealedChunk): Promise<void>;
  /** Verifies sha256 on every read; never returns wrong bytes. */
  get(id: ChunkId): Promise<Buffer>;
  /**
   * Ciphertext bytes [offset, offset + length) of a stored chunk, NOT checked against its id: for
   * readers holding the chunk's key, whose AEAD tag authenticates what they read (a 64 KiB
   * sha256 per read is the GET path's largest cost; LIMITS.md). ChunkMissing if absent,
   * ChunkCorrupt if the range lies outside the chunk or (from offset 0) the record header is
   * damaged. Returns a Buffer the caller owns.
   */
  readCiphertext(id: ChunkId, offset: number, length: number): Promise<Buffer>;
  /**
   * readCiphertext into a buffer the store reuses: release() it once nothing reads the bytes
   * (copied, or handed to the seal pool and settled). Not releasing is safe: GC takes it.
   */
  readCiphertextLeased(id: ChunkId, offset: number, length: number): Promise<Leased<Buffer>>;
  /** Whether the chunk is durably present (it may be garbage awaiting gc). */
  has(id: ChunkId): Promise<boolean>;
  /**
   * One atomic durable MetaStore batch: new counts plus the caller's metaOps (keys outside the
   * store's 'c/' and 'cs/' namespaces). Commits are serialised, so concurrent deltas add up. A
   * positive delta on an absent chunk fails with ChunkMissing; a count below 0 is an
   * AssertionError; either way nothing of that commit is written. Unpins positive-delta ids.
   */
  commit(refDeltas: ReadonlyMap<ChunkId, number>, metaOps: readonly MetaOp[]): Promise<void>;
  /** For writers that abort: their chunks become collectable if nobody references them. */
  unpin(ids: Iterable<ChunkId>): void;
  /** Committed reference count; 0 for absent chunks. */
  refCount(id: ChunkId): Promise<number>;
  /** Frees unreferenced unpinned chunks, then compacts sealed segments with a low live fraction. */
  gc(): Promise<GcResult>;
  /** Reads and verifies every indexed chunk. */
  scrub(): Promise<ScrubResult>;
  stats(): Promise<ChunkStoreStats>;
  /** Waits for in-flight work, closes segment files. Does not close the shared MetaStore. */
  close(): Promise<void>;
}

/**
 * A result that views a buffer its lender reuses: call release() once nothing reads the view any
 * more (the write that used it completed, or it was copied); the lender then overwrites it. Not
 * calling it is safe; the buffer is left to GC. Release once.
 */
export interface Leased<T> {
  value: T;
  release(): void;
}

/**
 * readCiphertextLeased's bytes handed to `use`, the read buffer released once `use` settled,
 * either way: `use` must be done with the bytes by then (an open on the seal pool copies them at
 * dispatch; a decrypt on this thread returns its own output).
 */
export async function withCiphertext<T>(chunks: ChunkStore, id: ChunkId, offset: number, length: number, use: (ciphertext: Buffer) => Promise<T> | T): Promise<T> {
  const ciphertext = await chunks.readCiphertextLeased(id, offset, length);
  try {
    return await use(ciphertext.value);
  } finally {
    ciphertext.release();
  }
}

/** readCiphertext's precondition, shared by every implementation so both fail the same way. */
export function assertChunkRange(offset: number, length: number): void {
  assert(Number.isSafeInteger(offset) && offset >= 0 && Number.isSafeInteger(length) && length >= 0, `bad chunk range ${offset}+${length}`);
}
