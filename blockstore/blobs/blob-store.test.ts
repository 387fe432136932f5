// Method: BlobStore over a MemoryChunkStore with seeded random data that repeats itself (so the
// stream holds duplicate chunks). The manifest must list, in stream order, exactly what the
// in-process chunker + sealChunk produce; each distinct chunk is put once and counted per
// occurrence; reads (whole and ranged) return the bytes; abandon releases the pins; and a store
// whose puts never finish stalls the writer once putWindowBytes are in flight.
import { afterEach, describe, expect, it } from 'vitest';
import { ContentChunker, ManifestEntries, SplitMix32, objectChunkerParams, sealChunk, type ChunkId, type SealedChunk } from '../../dedup/index.js';
import { MemoryChunkStore } from '../chunks/index.js';
import { BlobStore } from './blob-store.js';
import { blobLimits } from './limits.js';

const salt = new SplitMix32(3).bytes(32);

function blobStoreOn(chunks: MemoryChunkStore): BlobStore {
  return new BlobStore({ chunks, saltFor: () => salt, masterKey: Buffer.alloc(32, 1), randomBytes: (size) => Buffer.alloc(size, 2) });
}

/** 6 MiB: 2 MiB random, the same 2 MiB again, 2 MiB more random; handed over in 64 KiB pieces. */
function repeatingData(): Buffer {
  const random = new SplitMix32(99);
  const first = random.bytes(2 << 20);
  return Buffer.concat([first, first, random.bytes(2 << 20)]);
}

async function* piecesOf(data: Buffer, pieceBytes = 64 << 10): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += pieceBytes) yield data.subarray(at, at + pieceBytes);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe('BlobStore', () => {
  let chunks: MemoryChunkStore;
  afterEach(() => chunks.close());

  it('write: manifest in stream order equals chunker + sealChunk, each distinct chunk put once, counted per occurrence', async () => {
    chunks = new MemoryChunkStore();
    const data = repeatingData();
    const written = await blobStoreOn(chunks).write(piecesOf(data), { saltIndex: 0 });
    const chunker = new ContentChunker(objectChunkerParams);
    const expected = [...chunker.push(data), ...chunker.end()].map((chunk) => ({ sealed: sealChunk(chunk, salt), length: chunk.length }));
    expect(written.manifest.size).toBe(data.length);
    expect(written.manifest.entries.toArray().map((entry) => [entry.id, entry.key.toString('hex'), entry.length]))
      .toEqual(expected.map(({ sealed, length }) => [sealed.id, sealed.key.toString('hex'), length]));
    const counts = new Map<string, number>();
    for (const { sealed } of expected) counts.set(sealed.id, (counts.get(sealed.id) ?? 0) + 1);
    expect([...counts.values()].some((count) => count > 1)).toBe(true);
    expect(new Map(written.refDeltas)).toEqual(counts);
    expect((await chunks.stats()).chunks).toBe(counts.size);
  });

  it('read returns the bytes, whole and for ranges that cut chunks', async () => {
    chunks = new MemoryChunkStore();
    const data = repeatingData();
    const blobs = blobStoreOn(chunks);
    const { manifest, refDeltas } = await blobs.write(piecesOf(data, 100_000), { saltIndex: 0 });
    await chunks.commit(refDeltas, []);
    expect((await collect(blobs.read(manifest))).equals(data)).toBe(true);
    for (const [start, end] of [[0, 0], [1, 70_000], [65_535, 4_000_000], [data.length - 5, data.length - 1]]) {
      expect((await collect(blobs.read(manifest, { start, endInclusive: end }))).equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('readLeased yields read()\'s bytes as leases; every read buffer goes back, also when the reader stops early', async () => {
    chunks = new MemoryChunkStore();
    const data = repeatingData();
    let outstanding = 0;
    const counting = Object.create(chunks) as MemoryChunkStore;
    counting.readCiphertextLeased = async (id: ChunkId, offset: number, length: number) => {
      const leased = await chunks.readCiphertextLeased(id, offset, length);
      outstanding++;
      return { value: leased.value, release: () => { outstanding--; leased.release(); } };
    };
    const blobs = new BlobStore({ chunks: counting, saltFor: () => salt, masterKey: Buffer.alloc(32, 1), randomBytes: (size) => Buffer.alloc(size, 2) });
    const { manifest, refDeltas } = await blobs.write(piecesOf(data), { saltIndex: 0 });
    await chunks.commit(refDeltas, []);
    const copyReleasing = async (range?: { start: number; endInclusive: number }, stopAfter = Infinity): Promise<Buffer> => {
      const copies: Buffer[] = [];
      for await (const piece of blobs.readLeased(manifest, range)) {
        copies.push(Buffer.from(piece.value));
        piece.release();
        if (copies.length >= stopAfter) break;
      }
      return Buffer.concat(copies);
    };
    expect((await copyReleasing()).equals(data)).toBe(true);
    expect((await copyReleasing({ start: 70_000, endInclusive: 5_000_000 })).equals(data.subarray(70_000, 5_000_001))).toBe(true);
    const prefix = await copyReleasing(undefined, 2);
    expect(prefix.equals(data.subarray(0, prefix.length))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // fetches that were ahead settle
    expect(outstanding).toBe(0);
  });

  // read() checks chunks by their AEAD tag, not by the store's sha256 (readCiphertext): any damage
  // to the stored bytes — body or tag, in a chunk opened inline (< offThreadBytesMin) or in the
  // pool — must fail the stream with ChunkCorrupt, and no byte of the damaged chunk may come out.
  it('read fails with ChunkCorrupt, yielding nothing of the damaged chunk, wherever a stored chunk is damaged', async () => {
    chunks = new MemoryChunkStore();
    const random = new SplitMix32(21);
    const blocks = [random.bytes(40_000), random.bytes(5_000), random.bytes(70_000), random.bytes(3_000)];
    const data = Buffer.concat(blocks);
    const blobs = blobStoreOn(chunks);
    const { manifest, refDeltas } = await blobs.writeBlocks(blocks, 0);
    await chunks.commit(refDeltas, []);
    expect((await collect(blobs.read(manifest))).equals(data)).toBe(true);
    for (const [victim, entry] of manifest.entries.toArray().entries()) {
      const ciphertextBytes = entry.length + 16;
      for (const at of [0, entry.length >> 1, ciphertextBytes - 1]) {
        const damaged = Object.create(chunks) as MemoryChunkStore;
        damaged.readCiphertext = async (id: ChunkId, offset: number, length: number) => {
          const bytes = await chunks.readCiphertext(id, offset, length);
          if (id === entry.id && at >= offset && at < offset + length) bytes[at - offset] ^= 0x01;
          return bytes;
        };
        const damagedBlobs = new BlobStore({ chunks: damaged, saltFor: () => salt, masterKey: Buffer.alloc(32, 1), randomBytes: (size) => Buffer.alloc(size, 2) });
        const received: Buffer[] = [];
        const error = await (async () => { for await (const piece of damagedBlobs.read(manifest)) received.push(piece as Buffer); })()
          .then(() => undefined, (caught: unknown) => caught);
        expect((error as { code?: string } | undefined)?.code, `chunk ${victim} byte ${at}`).toBe('ChunkCorrupt');
        const before = blocks.slice(0, victim).reduce((sum, block) => sum + block.length, 0);
        expect(Buffer.concat(received).equals(data.subarray(0, before)), `chunk ${victim} byte ${at}`).toBe(true);
      }
    }
  });

  it('read of a chunk the store itself reports corrupt or missing fails with that error', async () => {
    chunks = new MemoryChunkStore();
    const blobs = blobStoreOn(chunks);
    const random = new SplitMix32(22);
    const { manifest, refDeltas } = await blobs.writeBlocks([random.bytes(30_000), random.bytes(30_000)], 0);
    await chunks.commit(refDeltas, []);
    chunks.corruptForTest(manifest.entries.idAt(1));
    await expect(collect(blobs.read(manifest))).rejects.toMatchObject({ code: 'ChunkCorrupt' });
    // A manifest that claims a longer chunk than stored: the store refuses the range.
    const lying = { ...manifest, size: manifest.size + 1, entries: ManifestEntries.of([{ ...manifest.entries.at(0), length: manifest.entries.lengthAt(0) + 1 }, manifest.entries.at(1)]) };
    await expect(collect(blobs.read(lying))).rejects.toMatchObject({ code: 'ChunkCorrupt' });
  });

  it('writeBlocks keeps one entry per block, in order', async () => {
    chunks = new MemoryChunkStore();
    const random = new SplitMix32(5);
    const block = random.bytes(65_536);
    const blocks = [block, random.bytes(65_536), block, random.bytes(1000)];
    const written = await blobStoreOn(chunks).writeBlocks(blocks, 0);
    expect(written.manifest.entries.toArray().map((entry) => entry.id)).toEqual(blocks.map((each) => sealChunk(each, salt).id));
    expect(written.refDeltas.get(sealChunk(block, salt).id)).toBe(2);
  });

  it('abandon releases the pins: gc frees every chunk of an uncommitted blob', async () => {
    chunks = new MemoryChunkStore();
    const blobs = blobStoreOn(chunks);
    const written = await blobs.write(piecesOf(new SplitMix32(8).bytes(1 << 20)), { saltIndex: 0 });
    blobs.abandon(written);
    expect((await chunks.gc()).chunksFreed).toBe(written.refDeltas.size);
  });

  it('stops reading its source once putWindowBytes are handed to puts that have not finished', async () => {
    chunks = new MemoryChunkStore();
    const held: Array<() => void> = [];
    let holding = true;
    const stalled = Object.create(chunks) as MemoryChunkStore;
    stalled.putSealed = (chunk: SealedChunk) => holding
      ? new Promise<void>((resolve) => held.push(resolve)).then(() => chunks.putSealed(chunk))
      : chunks.putSealed(chunk);
    const data = new SplitMix32(4).bytes(4 * blobLimits.putWindowBytes);
    let handedOver = 0;
    const source = (async function* () { for await (const piece of piecesOf(data)) { handedOver += piece.length; yield piece; } })();
    const writing = blobStoreOn(stalled).write(source, { saltIndex: 0 });
    // Wait until the writer stops asking for data (the seal pool's workers may take a while to start).
    let seen = -1;
    for (let polls = 0; polls < 200 && (seen !== handedOver || held.length === 0); polls++) {
      seen = handedOver;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(held.length).toBeGreaterThan(0);
    expect(handedOver).toBeLessThan(blobLimits.putWindowBytes + 2 * objectChunkerParams.maxBytes);
    holding = false;
    held.splice(0).forEach((release) => release());
    const written = await writing;
    expect(written.manifest.size).toBe(data.length);
  });
});
