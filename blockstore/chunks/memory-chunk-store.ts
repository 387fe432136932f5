// ChunkStore in memory, for upper layers' unit tests. Same contract as the segment store (same
// conformance suite); "durable" means "until the process exits". Counts live beside the chunks
// and are applied right after the caller's metaOps batch resolves, inside the commit lock, so a
// commit stays all-or-nothing from any observer's point of view.
import { AssertionError, assert } from '../../dedup/errors.js';
import type { SealedChunk } from '../../dedup/index.js';
import { MemoryMetaStore } from '../meta/memory-meta-store.js';
import { assertValidBatch, type MetaOp, type MetaStore } from '../meta/meta-store.js';
import { assertChunkId, chunkIdOf, type ChunkId } from './chunk-id.js';
import { assertChunkRange, type ChunkStore, type ChunkStoreStats, type GcResult, type Leased, type ScrubResult } from './chunk-store.js';
import { ChunkStoreError } from './errors.js';
import { resolveLimits, type ChunkStoreLimits } from './limits.js';
import { Mutex } from './mutex.js';
import { Pins } from './pins.js';

interface StoredChunk { bytes: Buffer; refCount: number }

export class MemoryChunkStore implements ChunkStore {
  readonly meta: MetaStore;
  private readonly chunks = new Map<ChunkId, StoredChunk>();
  private readonly pins = new Pins();
  private readonly commitLock = new Mutex();
  private readonly limits: ChunkStoreLimits;
  private closed = false;

  constructor(options: { meta?: MetaStore; limits?: Partial<ChunkStoreLimits> } = {}) {
    this.meta = options.meta ?? new MemoryMetaStore();
    this.limits = resolveLimits(options.limits);
  }

  async put(id: ChunkId, ciphertext: Uint8Array): Promise<void> {
    assert(chunkIdOf(ciphertext) === id, `chunk id ${id} does not match sha256(ciphertext)`);
    return this.putSealed({ id, ciphertext } as SealedChunk); // just verified: sealed in effect
  }

  async putSealed(chunk: SealedChunk): Promise<void> {
    const { id, ciphertext } = chunk;
    this.assertOpen();
    assertChunkId(id);
    assert(ciphertext.length <= this.limits.chunkCiphertextBytesMax, 'chunk exceeds chunkCiphertextBytesMax');
    this.pins.pin(id);
    if (!this.chunks.has(id)) this.chunks.set(id, { bytes: Buffer.from(ciphertext), refCount: 0 });
  }

  async get(id: ChunkId): Promise<Buffer> {
    this.assertOpen();
    assertChunkId(id);
    const chunk = this.chunks.get(id);
    if (chunk === undefined) throw new ChunkStoreError('ChunkMissing', `chunk ${id} is not stored`);
    if (chunkIdOf(chunk.bytes) !== id) throw new ChunkStoreError('ChunkCorrupt', `chunk ${id} fails its sha256`);
    return Buffer.from(chunk.bytes);
  }

  async readCiphertext(id: ChunkId, offset: number, length: number): Promise<Buffer> {
    this.assertOpen();
    assertChunkId(id);
    assertChunkRange(offset, length);
    const chunk = this.chunks.get(id);
    if (chunk === undefined) throw new ChunkStoreError('ChunkMissing', `chunk ${id} is not stored`);
    if (offset + length > chunk.bytes.length) {
      throw new ChunkStoreError('ChunkCorrupt', `range ${offset}+${length} lies outside chunk ${id} of ${chunk.bytes.length} bytes`);
    }
    return Buffer.from(chunk.bytes.subarray(offset, offset + length));
  }

  async readCiphertextLeased(id: ChunkId, offset: number, length: number): Promise<Leased<Buffer>> {
    return { value: await this.readCiphertext(id, offset, length), release: () => {} };
  }

  async has(id: ChunkId): Promise<boolean> {
    this.assertOpen();
    assertChunkId(id);
    return this.chunks.has(id);
  }

  commit(refDeltas: ReadonlyMap<ChunkId, number>, metaOps: readonly MetaOp[]): Promise<void> {
    return this.commitLock.run(async () => {
      this.assertOpen();
      for (const [id, delta] of refDeltas) { assertChunkId(id); assert(Number.isSafeInteger(delta), 'delta must be an integer'); }
      assertValidBatch(metaOps);
      for (const op of metaOps) assert(!op.key.startsWith('c/') && !op.key.startsWith('cs/'), `metaOp key ${op.key} is in the chunk store's namespace`);
      const next = new Map<ChunkId, number>();
      for (const [id, delta] of refDeltas) {
        if (delta === 0) continue;
        const chunk = this.chunks.get(id);
        if (chunk === undefined) {
          if (delta > 0) throw new ChunkStoreError('ChunkMissing', `commit references chunk ${id}, which is not stored`);
          throw new AssertionError(`commit drops a reference to chunk ${id}, which has none`);
        }
        const refCount = chunk.refCount + delta;
        if (refCount < 0) throw new AssertionError(`reference count of ${id} would go below 0`);
        next.set(id, refCount);
      }
      await this.meta.batch(metaOps);
      for (const [id, refCount] of next) this.chunks.get(id)!.refCount = refCount;
      for (const [id, delta] of refDeltas) if (delta > 0) this.pins.release(id);
    });
  }

  unpin(ids: Iterable<ChunkId>): void {
    for (const id of ids) this.pins.release(id);
  }

  async refCount(id: ChunkId): Promise<number> {
    this.assertOpen();
    return this.chunks.get(id)?.refCount ?? 0;
  }

  gc(): Promise<GcResult> {
    return this.commitLock.run(async () => {
      let chunksFreed = 0;
      let bytesFreed = 0;
      for (const [id, chunk] of this.chunks) {
        if (chunk.refCount > 0 || this.pins.has(id)) continue;
        this.chunks.delete(id);
        chunksFreed++;
        bytesFreed += chunk.bytes.length;
      }
      return { chunksFreed, bytesFreed, segmentsCompacted: 0 };
    });
  }

  async scrub(): Promise<ScrubResult> {
    const corrupt: ChunkId[] = [];
    for (const [id, chunk] of this.chunks) if (chunkIdOf(chunk.bytes) !== id) corrupt.push(id);
    return { chunksChecked: this.chunks.size, corrupt, missing: [] };
  }

  async stats(): Promise<ChunkStoreStats> {
    let liveBytes = 0;
    let segmentBytes = 0;
    for (const [id, chunk] of this.chunks) {
      segmentBytes += chunk.bytes.length;
      if (chunk.refCount > 0 || this.pins.has(id)) liveBytes += chunk.bytes.length;
    }
    return { chunks: this.chunks.size, liveBytes, segmentBytes, segments: 0 };
  }

  async close(): Promise<void> {
    await this.commitLock.run(async () => { this.closed = true; });
  }

  /** Test hook: flips one byte so corruption paths can be exercised without a disk. */
  corruptForTest(id: ChunkId): void {
    const chunk = this.chunks.get(id);
    assert(chunk !== undefined, 'corruptForTest of an absent chunk');
    chunk.bytes[0] ^= 0xff;
  }

  private assertOpen(): void {
    assert(!this.closed, 'chunk store used after close');
  }
}
