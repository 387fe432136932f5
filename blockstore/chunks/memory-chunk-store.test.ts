// MemoryChunkStore: the shared conformance suite, plus its corruption hook.
import { describe, expect, it } from 'vitest';
import { chunkIdOf } from './chunk-id.js';
import { chunkBytes, chunkStoreConformance } from './chunk-store-conformance.js';
import { isChunkStoreError } from './errors.js';
import { MemoryMetaStore } from '../meta/memory-meta-store.js';
import { MemoryChunkStore } from './memory-chunk-store.js';

chunkStoreConformance('MemoryChunkStore', async () => {
  const meta = new MemoryMetaStore();
  return { store: new MemoryChunkStore({ meta }), meta, cleanup: async () => {} };
});

describe('MemoryChunkStore corruption', () => {
  it('a flipped byte is ChunkCorrupt on get and in scrub', async () => {
    const store = new MemoryChunkStore();
    const bytes = chunkBytes('x', 100);
    const id = chunkIdOf(bytes);
    await store.put(id, bytes);
    store.corruptForTest(id);
    expect(isChunkStoreError(await store.get(id).catch((error: unknown) => error), 'ChunkCorrupt')).toBe(true);
    expect((await store.scrub()).corrupt).toEqual([id]);
  });
});
