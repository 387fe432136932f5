// One behavioural suite for every ChunkStore (STYLE.md §4). Method: each case opens a fresh store
// through the factory and checks the contract in chunk-store.ts only through the interface:
// id verification on put (and, for putSealed's unverified put, on every read instead), missing/corrupt on get, counts and metaOps committed atomically,
// serialised concurrent commits, pins versus GC (including a put racing a collection), and,
// when the factory can reopen, durability across close/open.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../dedup/errors.js';
import { sealChunk, type SealedChunk } from '../../dedup/index.js';
import type { MetaStore } from '../meta/meta-store.js';
import { chunkIdOf, type ChunkId } from './chunk-id.js';
import { chunkBytes } from './test-bytes.js';
import type { ChunkStore } from './chunk-store.js';
import { isChunkStoreError } from './errors.js';

export interface ChunkStoreFixture {
  store: ChunkStore;
  meta: MetaStore;
  /** Opens the same data again after the caller closed `store`. */
  reopen?: () => Promise<ChunkStore>;
  cleanup: () => Promise<void>;
}

export { chunkBytes };

function sample(seed: string, length = 4096): { id: ChunkId; bytes: Buffer } {
  const bytes = chunkBytes(seed, length);
  return { id: chunkIdOf(bytes), bytes };
}

const one = (id: ChunkId, delta = 1): Map<ChunkId, number> => new Map([[id, delta]]);

export function chunkStoreConformance(name: string, openFixture: () => Promise<ChunkStoreFixture>): void {
  describe(`ChunkStore conformance: ${name}`, () => {
    let fixture: ChunkStoreFixture;
    let store: ChunkStore;
    beforeEach(async () => {
      fixture = await openFixture();
      store = fixture.store;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('put then get returns identical bytes; has and refCount follow', async () => {
      const { id, bytes } = sample('a', 10_000);
      expect(await store.has(id)).toBe(false);
      await store.put(id, bytes);
      expect(await store.has(id)).toBe(true);
      expect((await store.get(id)).equals(bytes)).toBe(true);
      expect(await store.refCount(id)).toBe(0);
    });

    it('put with an id that is not sha256(ciphertext) is an assertion and stores nothing', async () => {
      const { bytes } = sample('b');
      const wrong = createHash('sha256').update('other').digest('hex') as ChunkId;
      await expect(store.put(wrong, bytes)).rejects.toBeInstanceOf(AssertionError);
      expect(await store.has(wrong)).toBe(false);
      await expect(store.put('NOT-HEX' as ChunkId, bytes)).rejects.toBeInstanceOf(AssertionError);
    });

    it('putSealed stores a chunk fresh from the seal like put does', async () => {
      const sealed = sealChunk(chunkBytes('sealed', 4000), Buffer.alloc(32, 9));
      await store.putSealed(sealed);
      await store.putSealed(sealed); // second put of one chunk: no-op, as for put
      expect((await store.get(sealed.id)).equals(sealed.ciphertext)).toBe(true);
      expect((await store.stats()).chunks).toBe(1);
      await store.commit(one(sealed.id), []);
      expect(await store.refCount(sealed.id)).toBe(1);
    });

    it('keeps no reference to a put\'s ciphertext once the put settled: the caller may overwrite it', async () => {
      const sealed = sealChunk(chunkBytes('reused', 9000), Buffer.alloc(32, 3));
      const original = Buffer.from(sealed.ciphertext);
      await store.putSealed(sealed);
      sealed.ciphertext.fill(0x5a); // what a released seal-pool buffer goes through
      expect((await store.get(sealed.id)).equals(original)).toBe(true);
      expect((await store.readCiphertext(sealed.id, 0, original.length)).equals(original)).toBe(true);
    });

    it('a forged SealedChunk (id not the hash) is never served: get and scrub report ChunkCorrupt', async () => {
      const { bytes } = sample('forged');
      const wrong = createHash('sha256').update('not these bytes').digest('hex') as ChunkId;
      await store.putSealed({ id: wrong, ciphertext: bytes } as SealedChunk); // what an untrusted caller might do
      const error = await store.get(wrong).catch((caught: unknown) => caught);
      expect(isChunkStoreError(error, 'ChunkCorrupt')).toBe(true);
      expect((await store.scrub()).corrupt).toEqual([wrong]);
      store.unpin([wrong]);
      expect((await store.gc()).chunksFreed).toBe(1);
      await expect(store.putSealed({ id: 'NOT-HEX' as ChunkId, ciphertext: bytes } as SealedChunk)).rejects.toBeInstanceOf(AssertionError);
    });

    it('get of an absent chunk fails with ChunkMissing', async () => {
      const error = await store.get(sample('absent').id).catch((caught: unknown) => caught);
      expect(isChunkStoreError(error, 'ChunkMissing')).toBe(true);
    });

    it('a second put of the same chunk is a no-op', async () => {
      const { id, bytes } = sample('dup');
      await Promise.all([store.put(id, bytes), store.put(id, bytes), store.put(id, bytes)]);
      await store.put(id, bytes);
      expect((await store.stats()).chunks).toBe(1);
    });

    it('oversize chunks are assertions', async () => {
      const big = chunkBytes('big', 1024 * 1024 + 17);
      await expect(store.put(chunkIdOf(big), big)).rejects.toBeInstanceOf(AssertionError);
    });

    it('commit writes counts and metaOps together', async () => {
      const { id, bytes } = sample('c');
      await store.put(id, bytes);
      await store.commit(one(id, 2), [{ type: 'put', key: 'o/bucket/key', value: Buffer.from(id) }]);
      expect(await store.refCount(id)).toBe(2);
      expect((await fixture.meta.get('o/bucket/key'))?.toString()).toBe(id);
      await store.commit(one(id, -1), [{ type: 'del', key: 'o/bucket/key' }]);
      expect(await store.refCount(id)).toBe(1);
      expect(await fixture.meta.get('o/bucket/key')).toBeUndefined();
    });

    it('commit referencing an absent chunk fails with ChunkMissing and writes nothing', async () => {
      const present = sample('present');
      await store.put(present.id, present.bytes);
      const deltas = new Map([[present.id, 1], [sample('never-put').id, 1]]);
      const error = await store.commit(deltas, [{ type: 'put', key: 'o/x', value: Buffer.from('x') }]).catch((caught: unknown) => caught);
      expect(isChunkStoreError(error, 'ChunkMissing')).toBe(true);
      expect(await store.refCount(present.id)).toBe(0);
      expect(await fixture.meta.get('o/x')).toBeUndefined();
    });

    it('a count going below 0 is an assertion and writes nothing', async () => {
      const first = sample('neg1');
      const second = sample('neg2');
      await store.put(first.id, first.bytes);
      await store.put(second.id, second.bytes);
      await store.commit(one(first.id), []);
      const deltas = new Map([[first.id, 1], [second.id, -1]]);
      await expect(store.commit(deltas, [{ type: 'put', key: 'o/y', value: Buffer.from('y') }])).rejects.toBeInstanceOf(AssertionError);
      expect(await store.refCount(first.id)).toBe(1);
      expect(await fixture.meta.get('o/y')).toBeUndefined();
    });

    it('metaOps in the chunk store namespace are assertions', async () => {
      await expect(store.commit(new Map(), [{ type: 'del', key: 'c/whatever' }])).rejects.toBeInstanceOf(AssertionError);
    });

    it('concurrent commits on one chunk add up', async () => {
      const { id, bytes } = sample('many');
      await store.put(id, bytes);
      await Promise.all(Array.from({ length: 100 }, (_, index) =>
        store.commit(one(id), [{ type: 'put', key: `o/many/${index}`, value: Buffer.from('1') }])));
      expect(await store.refCount(id)).toBe(100);
      await Promise.all(Array.from({ length: 40 }, () => store.commit(one(id, -1), [])));
      expect(await store.refCount(id)).toBe(60);
    });

    it('gc frees unreferenced unpinned chunks and keeps pinned and referenced ones', async () => {
      const kept = sample('kept');
      const pinned = sample('pinned');
      const dropped = sample('dropped');
      const released = sample('released');
      for (const chunk of [kept, pinned, dropped, released]) await store.put(chunk.id, chunk.bytes);
      await store.commit(new Map([[kept.id, 1], [released.id, 1]]), []);
      await store.commit(one(released.id, -1), []);
      store.unpin([dropped.id]);
      const result = await store.gc();
      expect(result.chunksFreed).toBe(2);
      expect(await store.has(kept.id)).toBe(true);
      expect(await store.has(pinned.id)).toBe(true);
      expect(await store.has(dropped.id)).toBe(false);
      expect(await store.has(released.id)).toBe(false);
      await store.put(dropped.id, dropped.bytes);
      expect((await store.get(dropped.id)).equals(dropped.bytes)).toBe(true);
    });

    it('pins are counted: one writer aborting does not expose another writer\'s chunk', async () => {
      const shared = sample('shared');
      await store.put(shared.id, shared.bytes); // writer A
      await store.put(shared.id, shared.bytes); // writer B
      store.unpin([shared.id]); // A aborts
      expect((await store.gc()).chunksFreed).toBe(0);
      await store.commit(one(shared.id), []); // B commits
      expect(await store.refCount(shared.id)).toBe(1);
    });

    it('a put racing gc on an unreferenced chunk is never lost', async () => {
      const chunks = Array.from({ length: 64 }, (_, index) => sample(`race${index}`, 2048));
      for (const chunk of chunks) await store.put(chunk.id, chunk.bytes);
      store.unpin(chunks.map((chunk) => chunk.id));
      const collecting = store.gc();
      await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
      await collecting;
      await store.commit(new Map(chunks.map((chunk) => [chunk.id, 1])), []);
      await store.gc();
      for (const chunk of chunks) expect((await store.get(chunk.id)).equals(chunk.bytes)).toBe(true);
    });

    it('many concurrent puts and reads agree, scrub is clean and stats add up', async () => {
      const chunks = Array.from({ length: 300 }, (_, index) => sample(`bulk${index}`, 512 + index * 37));
      await Promise.all(chunks.map((chunk) => store.put(chunk.id, chunk.bytes)));
      const read = await Promise.all(chunks.map((chunk) => store.get(chunk.id)));
      read.forEach((bytes, index) => expect(bytes.equals(chunks[index].bytes)).toBe(true));
      const scrub = await store.scrub();
      expect(scrub).toEqual({ chunksChecked: 300, corrupt: [], missing: [] });
      const stats = await store.stats();
      expect(stats.chunks).toBe(300);
      expect(stats.liveBytes).toBe(chunks.reduce((sum, chunk) => sum + chunk.bytes.length, 0));
      expect(stats.segmentBytes).toBeGreaterThanOrEqual(stats.liveBytes);
    });

    it('readCiphertext returns any range of the stored bytes, owned by the caller', async () => {
      const { id, bytes } = sample('ranges', 9000);
      await store.put(id, bytes);
      expect((await store.readCiphertext(id, 0, bytes.length)).equals(bytes)).toBe(true);
      expect((await store.readCiphertext(id, 4096, 4112)).equals(bytes.subarray(4096, 8208))).toBe(true);
      expect((await store.readCiphertext(id, bytes.length - 1, 1)).equals(bytes.subarray(bytes.length - 1))).toBe(true);
      expect((await store.readCiphertext(id, 17, 0)).length).toBe(0);
      (await store.readCiphertext(id, 0, 64)).fill(0);
      expect((await store.get(id)).equals(bytes)).toBe(true);
    });

    it('readCiphertext: absent is ChunkMissing, a range past the chunk ChunkCorrupt, a negative one an assertion', async () => {
      const { id, bytes } = sample('edges', 1000);
      expect(isChunkStoreError(await store.readCiphertext(id, 0, 10).catch((error: unknown) => error), 'ChunkMissing')).toBe(true);
      await store.put(id, bytes);
      expect(isChunkStoreError(await store.readCiphertext(id, 0, 1001).catch((error: unknown) => error), 'ChunkCorrupt')).toBe(true);
      expect(isChunkStoreError(await store.readCiphertext(id, 990, 11).catch((error: unknown) => error), 'ChunkCorrupt')).toBe(true);
      await expect(store.readCiphertext(id, -1, 4)).rejects.toBeInstanceOf(AssertionError);
    });

    it('readCiphertextLeased reads what readCiphertext reads, fails the same ways, and releases once', async () => {
      const { id, bytes } = sample('leased', 9000);
      expect(isChunkStoreError(await store.readCiphertextLeased(id, 0, 10).catch((error: unknown) => error), 'ChunkMissing')).toBe(true);
      await store.put(id, bytes);
      for (const [offset, length] of [[0, bytes.length], [4096, 4112], [bytes.length - 1, 1], [17, 0]]) {
        const leased = await store.readCiphertextLeased(id, offset, length);
        expect(leased.value.equals(bytes.subarray(offset, offset + length)), `${offset}+${length}`).toBe(true);
        leased.release();
      }
      expect(isChunkStoreError(await store.readCiphertextLeased(id, 990, bytes.length).catch((error: unknown) => error), 'ChunkCorrupt')).toBe(true);
      await expect(store.readCiphertextLeased(id, -1, 4)).rejects.toBeInstanceOf(AssertionError);
      // Reads in flight together never share a buffer, released or not.
      const together = await Promise.all([0, 1, 2, 3].map(() => store.readCiphertextLeased(id, 0, bytes.length)));
      for (const leased of together) expect(leased.value.equals(bytes)).toBe(true);
      together.forEach((leased) => leased.release());
      expect((await store.get(id)).equals(bytes)).toBe(true);
    });

    it('returned buffers belong to the caller', async () => {
      const { id, bytes } = sample('own');
      await store.put(id, bytes);
      (await store.get(id)).fill(0);
      expect((await store.get(id)).equals(bytes)).toBe(true);
    });

    it('chunks, counts and metaOps survive close and reopen; pins do not', async () => {
      if (fixture.reopen === undefined) return;
      const committed = sample('durable');
      const loose = sample('loose');
      await store.put(committed.id, committed.bytes);
      await store.put(loose.id, loose.bytes);
      await store.commit(one(committed.id, 3), [{ type: 'put', key: 'o/durable', value: Buffer.from('1') }]);
      await store.close();
      store = await fixture.reopen();
      expect((await store.get(committed.id)).equals(committed.bytes)).toBe(true);
      expect(await store.refCount(committed.id)).toBe(3);
      expect((await fixture.meta.get('o/durable'))?.toString()).toBe('1');
      expect((await store.gc()).chunksFreed).toBe(1);
      expect(await store.has(loose.id)).toBe(false);
    });
  });
}
