// SegmentChunkStore: the shared conformance suite on LevelDB + segment files (default limits, and
// tiny segments so every case also crosses segment rolls), then what only files can show:
// damage on disk (flipped bytes, lost files), torn and unindexed tails on reopen, compaction
// with reads in flight, and group commit sharing fsyncs.
import { appendFile, open, readdir, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkIdOf, type ChunkId } from './chunk-id.js';
import { chunkBytes, chunkStoreConformance } from './chunk-store-conformance.js';
import { isChunkStoreError } from './errors.js';
import type { SegmentChunkStore } from './segment-chunk-store.js';
import { encodeRecordFraming, segmentFileNameOf } from './segment-format.js';
import { versionOneRecord } from './segment-format.test-support.js';
import { openTempStore, type TempStore } from './temp-store.js';

const tinySegments = { segmentBytesMax: 64 * 1024 + 1024, chunkBytesMax: 60 * 1024, chunkCiphertextBytesMax: 60 * 1024 + 16 };

chunkStoreConformance('SegmentChunkStore', () => openTempStore());
chunkStoreConformance('SegmentChunkStore with 64 KiB segments', () => openTempStore(tinySegments));
chunkStoreConformance('SegmentChunkStore committing in slices of 3 ids', () => openTempStore({ commitSliceIds: 3 }));

function sample(seed: string, length = 4096): { id: ChunkId; bytes: Buffer } {
  const bytes = chunkBytes(seed, length);
  return { id: chunkIdOf(bytes), bytes };
}

async function activeSegmentPath(temp: TempStore, store: SegmentChunkStore): Promise<string> {
  return join(temp.dir, segmentFileNameOf(store.activeSegmentNumber()));
}

describe('SegmentChunkStore on disk', () => {
  let temp: TempStore;
  let store: SegmentChunkStore;
  afterEach(async () => {
    await store.close().catch(() => undefined);
    await temp.cleanup();
  });

  it('a flipped ciphertext byte on disk is ChunkCorrupt on get and in scrub', async () => {
    temp = await openTempStore();
    store = temp.store;
    const good = sample('good');
    const bad = sample('bad');
    await store.put(good.id, good.bytes);
    await store.put(bad.id, bad.bytes);
    const entry = (await store.entryOf(bad.id))!;
    const handle = await open(join(temp.dir, segmentFileNameOf(entry.segmentNumber)), 'r+');
    await handle.write(Buffer.from([bad.bytes[100] ^ 0x01]), 0, 1, entry.offset + 44 + 100);
    await handle.close();
    expect(isChunkStoreError(await store.get(bad.id).catch((error: unknown) => error), 'ChunkCorrupt')).toBe(true);
    expect((await store.get(good.id)).equals(good.bytes)).toBe(true);
    expect(await store.scrub()).toEqual({ chunksChecked: 2, corrupt: [bad.id], missing: [] });
    // readCiphertext does not hash: it hands back the stored (damaged) bytes for the caller's AEAD tag to reject.
    const raw = await store.readCiphertext(bad.id, 0, bad.bytes.length);
    expect(raw.equals(bad.bytes)).toBe(false);
    expect(raw[100]).toBe(bad.bytes[100] ^ 0x01);
  });

  it('a commit of more ids than commitSliceIds is one atomic batch: all counts and metaOps, or nothing', async () => {
    temp = await openTempStore({ commitSliceIds: 8 });
    store = temp.store;
    const chunks = Array.from({ length: 50 }, (_, index) => sample(`sliced${index}`, 1000 + index));
    await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
    const absent = sample('never put');
    // The absent chunk sits in the last slice: the first six slices were already staged into the batch.
    const refused = new Map<ChunkId, number>([...chunks.map((chunk): [ChunkId, number] => [chunk.id, 2]), [absent.id, 1]]);
    const error = await store.commit(refused, [{ type: 'put', key: 'o/sliced', value: Buffer.from('x') }]).catch((caught: unknown) => caught);
    expect(isChunkStoreError(error, 'ChunkMissing')).toBe(true);
    for (const chunk of chunks) expect(await store.refCount(chunk.id)).toBe(0);
    expect(await temp.meta.get('o/sliced')).toBeUndefined();
    // The store is still usable, and small commits racing a big one add up.
    await Promise.all([
      store.commit(new Map(chunks.map((chunk) => [chunk.id, 2])), [{ type: 'put', key: 'o/sliced', value: Buffer.from('y') }]),
      ...chunks.slice(0, 5).map((chunk) => store.commit(new Map([[chunk.id, 1]]), [])),
    ]);
    expect(await store.refCount(chunks[0].id)).toBe(3);
    expect(await store.refCount(chunks[49].id)).toBe(2);
    expect((await temp.meta.get('o/sliced'))?.toString()).toBe('y');
    await store.commit(new Map(chunks.map((chunk) => [chunk.id, -2])), []);
    expect((await store.gc()).chunksFreed).toBe(45); // the sliced commit released the puts' pins
    expect(await store.refCount(chunks[0].id)).toBe(1);
  });

  it('readCiphertext from offset 0 checks the record header', async () => {
    temp = await openTempStore();
    store = temp.store;
    const chunk = sample('header');
    await store.put(chunk.id, chunk.bytes);
    const entry = (await store.entryOf(chunk.id))!;
    const handle = await open(join(temp.dir, segmentFileNameOf(entry.segmentNumber)), 'r+');
    const idByte = Buffer.alloc(1);
    await handle.read(idByte, 0, 1, entry.offset + 12); // first byte of the id in the header
    await handle.write(Buffer.from([idByte[0] ^ 0xff]), 0, 1, entry.offset + 12);
    await handle.close();
    const error = await store.readCiphertext(chunk.id, 0, chunk.bytes.length).catch((caught: unknown) => caught);
    expect(isChunkStoreError(error, 'ChunkCorrupt')).toBe(true);
  });

  it('a lost segment file is ChunkMissing in scrub, not wrong bytes', async () => {
    temp = await openTempStore(tinySegments);
    store = temp.store;
    const chunks = Array.from({ length: 40 }, (_, index) => sample(`lost${index}`, 8000));
    for (const chunk of chunks) await store.put(chunk.id, chunk.bytes);
    const first = (await store.entryOf(chunks[0].id))!;
    await store.close();
    await unlink(join(temp.dir, segmentFileNameOf(first.segmentNumber)));
    store = await temp.reopen();
    const scrub = await store.scrub();
    expect(scrub.missing).toContain(chunks[0].id);
    expect(scrub.corrupt).toEqual([]);
    expect(isChunkStoreError(await store.get(chunks[0].id).catch((error: unknown) => error), 'ChunkMissing')).toBe(true);
  });

  it('reopen truncates a torn tail and keeps every acknowledged chunk', async () => {
    temp = await openTempStore();
    store = temp.store;
    const chunks = Array.from({ length: 20 }, (_, index) => sample(`torn${index}`, 3000));
    for (const chunk of chunks) await store.put(chunk.id, chunk.bytes);
    const path = await activeSegmentPath(temp, store);
    const sizeBefore = (await stat(path)).size;
    await store.close();
    const torn = sample('torn-record', 5000);
    const { header } = encodeRecordFraming(torn.id, torn.bytes);
    await appendFile(path, Buffer.concat([header, torn.bytes.subarray(0, 1234)]));
    store = await temp.reopen();
    expect(store.recovery.bytesTruncated).toBe(44 + 1234);
    expect((await stat(path)).size).toBe(sizeBefore);
    for (const chunk of chunks) expect((await store.get(chunk.id)).equals(chunk.bytes)).toBe(true);
    expect(await store.has(torn.id)).toBe(false);
  });

  it('reopen indexes whole records written after the tail marker with count 0', async () => {
    temp = await openTempStore();
    store = temp.store;
    const indexed = sample('indexed');
    await store.put(indexed.id, indexed.bytes);
    const path = await activeSegmentPath(temp, store);
    await store.close();
    const orphan = sample('orphan', 7000);
    const { header, trailer } = encodeRecordFraming(orphan.id, orphan.bytes);
    await appendFile(path, Buffer.concat([header, orphan.bytes, trailer]));
    store = await temp.reopen();
    expect(store.recovery.chunksRecovered).toBe(1);
    expect((await store.get(orphan.id)).equals(orphan.bytes)).toBe(true);
    expect(await store.refCount(orphan.id)).toBe(0);
    expect((await store.gc()).chunksFreed).toBe(2); // the orphan, and `indexed`: never committed, unpinned by reopen
    expect(await store.has(indexed.id)).toBe(false);
  });

  it('reopen indexes a version-1 record (an older build wrote it) and cuts a whole-length record whose ciphertext fails its id', async () => {
    temp = await openTempStore();
    store = temp.store;
    const indexed = sample('indexed-v2');
    await store.put(indexed.id, indexed.bytes);
    const path = await activeSegmentPath(temp, store);
    await store.close();
    const old = sample('written-as-v1', 6000);
    const damaged = sample('damaged-v2', 6000);
    const framing = encodeRecordFraming(damaged.id, damaged.bytes);
    const garbled = Buffer.from(damaged.bytes);
    garbled[3000] ^= 0xff; // a torn or rotted body under an intact header: only the sha256 sees it
    await appendFile(path, Buffer.concat([versionOneRecord(old.bytes), framing.header, garbled, framing.trailer]));
    store = await temp.reopen();
    expect(store.recovery.chunksRecovered).toBe(1);
    expect(store.recovery.bytesTruncated).toBe(44 + 6000 + 4);
    expect((await store.get(old.id)).equals(old.bytes)).toBe(true);
    expect(await store.has(damaged.id)).toBe(false);
    expect((await store.get(indexed.id)).equals(indexed.bytes)).toBe(true);
  });

  it('a segment file created but never given a header is removed on reopen', async () => {
    temp = await openTempStore();
    store = temp.store;
    const kept = sample('kept');
    await store.put(kept.id, kept.bytes);
    const next = store.activeSegmentNumber() + 1;
    await store.close();
    await appendFile(join(temp.dir, segmentFileNameOf(next)), Buffer.from('CAIRN'));
    store = await temp.reopen();
    expect(await readdir(temp.dir)).not.toContain(segmentFileNameOf(next));
    expect((await store.get(kept.id)).equals(kept.bytes)).toBe(true);
  });

  it('reopen after the tail segment lost its unsynced end still opens (truncated below tail)', async () => {
    temp = await openTempStore();
    store = temp.store;
    const chunk = sample('short');
    await store.put(chunk.id, chunk.bytes);
    const path = await activeSegmentPath(temp, store);
    await store.close();
    await truncate(path, 16 + 100);
    store = await temp.reopen();
    expect((await store.scrub()).missing).toEqual([chunk.id]);
  });

  it('gc compacts sparse sealed segments while reads continue, and frees their bytes', async () => {
    temp = await openTempStore(tinySegments);
    store = temp.store;
    const chunks = Array.from({ length: 120 }, (_, index) => sample(`compact${index}`, 6000 + index));
    await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
    const keep = chunks.filter((_, index) => index % 4 === 0);
    await store.commit(new Map(keep.map((chunk) => [chunk.id, 1])), [{ type: 'put', key: 'o/compact', value: Buffer.from('k') }]);
    store.unpin(chunks.map((chunk) => chunk.id));
    const before = await store.stats();
    const reads = Promise.all(Array.from({ length: 5 }, () => Promise.all(keep.map((chunk) => store.get(chunk.id)))));
    const result = await store.gc();
    for (const round of await reads) round.forEach((bytes, index) => expect(bytes.equals(keep[index].bytes)).toBe(true));
    expect(result.chunksFreed).toBe(90);
    expect(result.segmentsCompacted).toBeGreaterThan(5);
    expect(result.bytesFreed).toBeGreaterThan(0);
    const after = await store.stats();
    expect(after.segmentBytes).toBeLessThan(before.segmentBytes);
    expect(after.chunks).toBe(30);
    for (const chunk of keep) expect((await store.get(chunk.id)).equals(chunk.bytes)).toBe(true);
    expect(await store.refCount(keep[0].id)).toBe(1);
    await store.close();
    store = await temp.reopen();
    expect(await store.scrub()).toEqual({ chunksChecked: 30, corrupt: [], missing: [] });
  });

  it('concurrent puts share group commits', async () => {
    temp = await openTempStore();
    store = temp.store;
    const chunks = Array.from({ length: 500 }, (_, index) => sample(`group${index}`, 4096));
    await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
    expect(store.groupsCommitted).toBeLessThan(50);
    expect((await store.stats()).chunks).toBe(500);
  });

  it('concurrent lookups share getMany calls and each gets its own answer', async () => {
    temp = await openTempStore();
    store = temp.store;
    const chunks = Array.from({ length: 300 }, (_, index) => sample(`lookup${index}`, 1024 + index));
    const before = store.lookupCallsIssued;
    await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
    expect(store.lookupCallsIssued - before).toBeLessThan(10); // 300 presence checks
    const absent = sample('never put');
    const reads = await Promise.all([...chunks.map((chunk) => store.get(chunk.id)), store.get(absent.id).catch((error: unknown) => error)]);
    chunks.forEach((chunk, index) => expect((reads[index] as Buffer).equals(chunk.bytes)).toBe(true));
    expect(isChunkStoreError(reads[chunks.length], 'ChunkMissing')).toBe(true);
    expect(store.lookupCallsIssued - before).toBeLessThan(20);
  });

  it('a group mixing stored and new chunks appends only the new ones', async () => {
    temp = await openTempStore();
    store = temp.store;
    const stored = Array.from({ length: 20 }, (_, index) => sample(`stored${index}`, 2048));
    await Promise.all(stored.map((chunk) => store.put(chunk.id, chunk.bytes)));
    const before = (await store.stats()).segmentBytes;
    const fresh = Array.from({ length: 20 }, (_, index) => sample(`fresh${index}`, 2048));
    await Promise.all([...stored, ...fresh].map((chunk) => store.put(chunk.id, chunk.bytes)));
    const after = await store.stats();
    expect(after.chunks).toBe(40);
    expect(after.segmentBytes - before).toBe(20 * (44 + 2048 + 4));
    for (const chunk of [...stored, ...fresh]) expect((await store.get(chunk.id)).equals(chunk.bytes)).toBe(true);
  });

  it('a chunk freed by GC is not served from a cached location', async () => {
    temp = await openTempStore();
    store = temp.store;
    const doomed = sample('cached then freed');
    const kept = sample('cached and kept');
    await store.put(doomed.id, doomed.bytes);
    await store.put(kept.id, kept.bytes);
    await store.commit(new Map([[doomed.id, 1], [kept.id, 1]]), []);
    expect((await store.get(doomed.id)).equals(doomed.bytes)).toBe(true);
    expect(store.locationsCached).toBe(2);
    await store.commit(new Map([[doomed.id, -1]]), []);
    expect((await store.gc()).chunksFreed).toBe(1);
    expect(isChunkStoreError(await store.get(doomed.id).catch((error: unknown) => error), 'ChunkMissing')).toBe(true);
    expect((await store.get(kept.id)).equals(kept.bytes)).toBe(true);
  });

  it('chunks moved by compaction are read from their new place, cached or not', async () => {
    temp = await openTempStore(tinySegments);
    store = temp.store;
    const chunks = Array.from({ length: 24 }, (_, index) => sample(`moving${index}`, 8 * 1024));
    for (const chunk of chunks) await store.put(chunk.id, chunk.bytes);
    const keep = chunks.filter((_, index) => index % 4 === 0);
    await store.commit(new Map(chunks.map((chunk) => [chunk.id, 1])), []);
    for (const chunk of chunks) await store.get(chunk.id); // every location cached
    await store.commit(new Map(chunks.filter((chunk) => !keep.includes(chunk)).map((chunk) => [chunk.id, -1])), []);
    const before = store.locationsCached;
    const result = await store.gc();
    expect(result.segmentsCompacted).toBeGreaterThan(0);
    expect(store.locationsCached).toBeLessThan(before); // freed and moved ids forgotten
    for (const chunk of keep) expect((await store.get(chunk.id)).equals(chunk.bytes)).toBe(true);
    for (const chunk of keep) expect((await store.readCiphertext(chunk.id, 100, 200)).equals(chunk.bytes.subarray(100, 300))).toBe(true);
    for (const chunk of keep) {
      const entry = (await store.entryOf(chunk.id))!;
      expect(store.segments.has(entry.segmentNumber)).toBe(true);
    }
  });
});
