// The one place where dedup meets the chunk store (ARCHITECTURE.md "Layers"). Objects, volume
// blocks, function packages and VM images are all written here as a stream of plaintext and come
// back as a manifest; reads take a manifest and a byte range and stream plaintext back.
//
// Durability contract: write() resolves once every chunk is durable in the chunk store and still
// pinned; the caller makes the data visible with chunks.commit(refDeltas, its own metadata ops),
// or gives it up with abandon(). Nothing here touches metadata, so a crash between the two leaves
// only unreferenced chunks, which GC reclaims.
import { Readable } from 'node:stream';
import {
  ContentChunker, objectChunkerParams, openChunk, sealChunk, locateRange, dedupLimits,
  encodeManifest, decodeManifest, sealManifest, openManifest,
  type ChunkId, ManifestEntries, type ManifestV1, type ChunkerParams, type SealedChunk,
} from '../../dedup/index.js';
import { assert, CairnError } from '../../dedup/errors.js';
import { withCiphertext, type ChunkStore } from '../chunks/index.js';
import { blobLimits } from './limits.js';
import { openChunkOffThread, openLeasedOffThread, sealLeasedOffThread, type Leased } from './seal-pool.js';

export interface BlobStoreDeps {
  chunks: ChunkStore;
  /** The deployment's secret salt for index i (seed 2); the policy choosing i lives with the caller. */
  saltFor(index: number): Buffer;
  masterKey: Buffer;
  /** Randomness for data keys and nonces; injected so tests can be deterministic. */
  randomBytes(size: number): Buffer;
}

export interface BlobWriteOptions {
  saltIndex: number;
  chunker?: ChunkerParams;
  /**
   * Called with every plaintext piece as it streams past (checksums, ETags, byte counts), before
   * the chunker sees it; a returned promise is awaited before the next piece (backpressure).
   */
  onData?: (piece: Buffer) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface WrittenBlob {
  manifest: ManifestV1;
  /** +1 for each chunk occurrence: what the caller passes to chunks.commit to keep this blob. */
  refDeltas: Map<ChunkId, number>;
}

export type ByteRange = { start: number; endInclusive: number };

export class BlobStore {
  readonly chunks: ChunkStore;
  private readonly deps: BlobStoreDeps;

  constructor(deps: BlobStoreDeps) {
    this.deps = deps;
    this.chunks = deps.chunks;
  }

  /** Chunk, seal and store a plaintext stream. Bounded memory: at most putWindowBytes in flight. */
  async write(source: AsyncIterable<Buffer | Uint8Array | string>, options: BlobWriteOptions): Promise<WrittenBlob> {
    const salt = this.deps.saltFor(options.saltIndex);
    const chunker = new ContentChunker(options.chunker ?? objectChunkerParams);
    // Chunks go back to the chunker once sealed, so its slabs are refilled rather than allocated.
    const writer = new ChunkWriter(this.chunks, salt, (chunk) => chunker.release(chunk));
    try {
      for await (const piece of source) {
        if (options.signal?.aborted) throw new CairnError('Aborted', 'write aborted');
        const buffer = typeof piece === 'string' ? Buffer.from(piece) : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
        const observed = options.onData?.(buffer);
        if (observed !== undefined) await observed;
        for (const chunk of chunker.push(buffer)) await writer.add(chunk);
      }
      for (const chunk of chunker.end()) await writer.add(chunk);
      return await writer.finish();
    } catch (error) {
      await writer.abandon();
      throw error;
    }
  }

  /** Store pre-cut blocks (volumes use fixed-size blocks): one manifest entry per block. */
  async writeBlocks(blocks: readonly Buffer[], saltIndex: number): Promise<WrittenBlob> {
    const writer = new ChunkWriter(this.chunks, this.deps.saltFor(saltIndex));
    try {
      for (const block of blocks) await writer.add(block);
      return await writer.finish();
    } catch (error) {
      await writer.abandon();
      throw error;
    }
  }

  /** Give up the pins of a written blob that will not be committed. */
  abandon(blob: WrittenBlob): void {
    this.chunks.unpin(blob.refDeltas.keys());
  }

  /** Read a byte range of a blob as a stream; only the chunks overlapping the range are fetched. */
  read(manifest: ManifestV1, range?: ByteRange): Readable {
    // readPieces keeps readAheadChunks fetches in flight itself; the stream buffers at most one
    // piece beyond them (highWaterMark counts bytes here, so 1 means "one piece at a time").
    // Its pieces are never released: a stream cannot tell when its reader is done with one.
    return Readable.from(valuesOf(this.readPieces(manifest, range, false)), { objectMode: false, highWaterMark: 1 });
  }

  /**
   * read() as leased pieces (seal-pool.ts, "Leases"): release each once nothing reads it (its
   * socket write completed), and the batch buffers it views are reused instead of left to GC —
   * a GET otherwise turns its whole size into garbage that V8 and malloc hold until collected.
   * Ending the iteration early (return(), a throw) releases whatever was fetched ahead.
   */
  readLeased(manifest: ManifestV1, range?: ByteRange): AsyncGenerator<Leased<Buffer>> {
    return this.readPieces(manifest, range, true);
  }

  private async *readPieces(manifest: ManifestV1, range: ByteRange | undefined, leased: boolean): AsyncGenerator<Leased<Buffer>> {
    const start = range?.start ?? 0;
    const endInclusive = range?.endInclusive ?? manifest.size - 1;
    if (manifest.size === 0 || endInclusive < start) return;
    assert(start >= 0 && endInclusive < manifest.size, 'blob range out of bounds');
    const span = locateRange(manifest, start, endInclusive);
    const pending: Promise<Leased<Buffer>>[] = [];
    let next = span.firstIndex;
    // The manifest's key is the verification: AES-GCM's tag authenticates the stored bytes under
    // it, so a damaged or substituted chunk fails in openChunk (ChunkCorrupt) and never yields
    // bytes. The store's sha256 of each chunk would check the same bytes a second time, and was
    // the largest main-thread cost of a GET (LIMITS.md: verify+decrypt ~940 vs decrypt ~2,200 MB/s).
    const fetch = (index: number): Promise<Leased<Buffer>> => {
      const entry = manifest.entries.at(index);
      const opened = withCiphertext(this.chunks, entry.id, 0, entry.length + dedupLimits.aeadTagBytes, (ciphertext) => openOnPool(ciphertext, entry.key, leased));
      // Fetches still in flight when an earlier one fails (or the reader stops) are never awaited:
      // their rejection must not surface as an unhandled rejection, which would end the process.
      opened.catch(() => {});
      return opened;
    };
    // Refilled in batches, not one per chunk consumed: fetches started in one turn share one
    // index lookup (the chunk store batches a turn's lookups into one getMany) and one batch to
    // the seal pool.
    const refill = (): void => {
      if (pending.length > blobLimits.readAheadChunks - blobLimits.readAheadRefillChunks) return;
      while (next <= span.lastIndex && pending.length < blobLimits.readAheadChunks) pending.push(fetch(next++));
    };
    try {
      refill();
      for (let index = span.firstIndex; index <= span.lastIndex; index++) {
        const plaintext = await pending.shift()!;
        refill();
        const lengthAsListed = plaintext.value.length === manifest.entries.lengthAt(index);
        if (!lengthAsListed) plaintext.release();
        assert(lengthAsListed, 'chunk length differs from manifest');
        const from = index === span.firstIndex ? span.firstOffset : 0;
        const to = index === span.lastIndex ? span.lastOffsetInclusive + 1 : plaintext.value.length;
        yield { value: plaintext.value.subarray(from, to), release: plaintext.release };
      }
    } finally {
      // Stopped early: what was fetched ahead is nobody's; its buffers go back once they settle.
      for (const fetched of pending) fetched.then((opened) => opened.release(), () => {});
    }
  }

  /** Read a whole (small) blob into memory — for manifests of function packages and the like. */
  async readAll(manifest: ManifestV1): Promise<Buffer> {
    assert(manifest.size <= blobLimits.readAllBytesMax, 'readAll is for small blobs only');
    const pieces: Buffer[] = [];
    for await (const piece of this.read(manifest)) pieces.push(piece as Buffer);
    return Buffer.concat(pieces);
  }

  sealManifest(manifest: ManifestV1): Buffer {
    return sealManifest(encodeManifest(manifest), this.deps.masterKey, this.deps.randomBytes(32), this.deps.randomBytes(24));
  }

  openManifest(sealed: Uint8Array): ManifestV1 {
    return decodeManifest(openManifest(sealed, this.deps.masterKey));
  }
}

/** The reference changes that drop (sign -1) or keep (+1) every chunk a manifest names. */
export function refDeltasOf(manifest: ManifestV1, sign: 1 | -1, into = new Map<ChunkId, number>()): Map<ChunkId, number> {
  for (let index = 0; index < manifest.entries.length; index++) {
    const id = manifest.entries.idAt(index);
    into.set(id, (into.get(id) ?? 0) + sign);
  }
  return into;
}

/** Concatenate manifests (multipart completion, volume maps): no data moves. */
export function concatManifests(parts: readonly ManifestV1[]): ManifestV1 {
  const entries = ManifestEntries.concat(parts.map((part) => part.entries));
  const size = parts.reduce((sum, part) => sum + part.size, 0);
  return { version: 1, size, entries };
}

// Measured on a 1 GiB GET (blobs README): decrypting in the pool takes ~1 s of main-thread CPU
// per GiB off the thread that also verifies ids and serves the socket; sealing there takes ~4 s.
function sealOnPool(plaintext: Buffer, salt: Buffer): Promise<Leased<SealedChunk>> {
  if (plaintext.length < blobLimits.offThreadBytesMin) return Promise.resolve({ value: sealChunk(plaintext, salt), release: () => {} });
  return sealLeasedOffThread(plaintext, salt);
}

function openOnPool(ciphertext: Buffer, key: Buffer, leased: boolean): Promise<Leased<Buffer>> | Leased<Buffer> {
  if (ciphertext.length < blobLimits.offThreadBytesMin) return { value: openChunk(ciphertext, key), release: () => {} };
  if (leased) return openLeasedOffThread(ciphertext, key);
  return openChunkOffThread(ciphertext, key).then((value) => ({ value, release: () => {} }));
}

async function* valuesOf(pieces: AsyncIterable<Leased<Buffer>>): AsyncGenerator<Buffer> {
  for await (const piece of pieces) yield piece.value;
}

/** `pending`, then `after()` however it settled. */
async function settleThen(pending: Promise<void> | undefined, after: () => void): Promise<void> {
  try {
    await pending;
  } finally {
    after();
  }
}

/**
 * Seals chunks on the seal pool and puts each distinct one, keeping several seals and puts in
 * flight while the caller goes on chunking. Bounded: bytes count against putWindowBytes from
 * add() (the plaintext is still the caller's, awaiting its copy into a batch) until the chunk is
 * durable, or until its seal shows it a repeat. Entries land in their own slots as seals finish
 * in any order, so the manifest keeps the stream's order. A repeat is decided when its seal
 * resolves (on the main thread, one at a time): the first to resolve puts, the rest only count.
 */
class ChunkWriter {
  private readonly pending = new Set<Promise<void>>();
  private windowBytes = 0;
  private windowWaiter: (() => void) | undefined;
  private failure: unknown;
  private readonly entries = new ManifestEntries();
  /** Slots handed out by add(); entries.length counts only up to the last one a seal filled. */
  private slots = 0;
  private filled = 0;
  private readonly refDeltas = new Map<ChunkId, number>();
  private size = 0;

  /** `sealed` is told when a plaintext is no longer read (its seal settled, either way). */
  constructor(private readonly chunks: ChunkStore, private readonly salt: Buffer, private readonly sealed: (plaintext: Buffer) => void = () => {}) {}

  async add(plaintext: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const index = this.slots++;
    this.size += plaintext.length;
    const bytes = plaintext.length + dedupLimits.aeadTagBytes;
    this.windowBytes += bytes;
    const length = plaintext.length;
    const job: Promise<void> = sealOnPool(plaintext, this.salt)
      .finally(() => this.sealed(plaintext))
      // The chunk store's put settles after its write completed (or was never issued): only
      // then may the pool reuse the buffer the ciphertext is a view of.
      .then((sealed) => settleThen(this.store(index, length, sealed.value), sealed.release))
      .then(() => this.release(job, bytes), (error: unknown) => { this.failure ??= error; this.release(job, bytes); });
    this.pending.add(job);
    while (this.windowBytes > blobLimits.putWindowBytes && this.failure === undefined) {
      await new Promise<void>((resolve) => { this.windowWaiter = resolve; });
    }
    if (this.failure) throw this.failure;
  }

  async finish(): Promise<WrittenBlob> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    assert(this.filled === this.slots && this.entries.length === this.slots, 'every chunk of the blob was sealed');
    return { manifest: { version: 1, size: this.size, entries: this.entries }, refDeltas: this.refDeltas };
  }

  async abandon(): Promise<void> {
    await Promise.all(this.pending);
    this.chunks.unpin(this.refDeltas.keys());
  }

  private store(index: number, length: number, sealed: SealedChunk): Promise<void> | undefined {
    this.entries.set(index, { id: sealed.id, key: sealed.key, length });
    this.filled++;
    const count = this.refDeltas.get(sealed.id) ?? 0;
    this.refDeltas.set(sealed.id, count + 1);
    return count === 0 ? this.chunks.putSealed(sealed) : undefined;
  }

  private release(job: Promise<void>, bytes: number): void {
    this.pending.delete(job);
    this.windowBytes -= bytes;
    if (this.windowWaiter !== undefined && (this.windowBytes <= blobLimits.putWindowBytes || this.failure !== undefined)) {
      const wake = this.windowWaiter;
      this.windowWaiter = undefined;
      wake();
    }
  }
}
