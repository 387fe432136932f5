// SegmentChunkStore: the shared conformance suite on LevelDB + segment files (default limits, and
// tiny segments so every case also crosses segment rolls), then what only files can show:
// corruption on disk, torn and unindexed tails on reopen, compaction, group commit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelMetaStore } from '../meta/level-meta-store.js';
import { chunkStoreConformance } from './chunk-store-conformance.js';
import type { ChunkStoreLimits } from './limits.js';
import { openChunkStore } from './segment-chunk-store.js';

export async function openTempStore(limits?: Partial<ChunkStoreLimits>) {
  const root = await mkdtemp(join(tmpdir(), 'cairn-chunks-'));
  const meta = await LevelMetaStore.open(join(root, 'meta'));
  const dir = join(root, 'segments');
  const store = await openChunkStore({ dir, meta, limits });
  return {
    root, dir, meta, store,
    reopen: () => openChunkStore({ dir, meta, limits }),
    cleanup: async () => {
      await meta.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

chunkStoreConformance('SegmentChunkStore', () => openTempStore());
chunkStoreConformance('SegmentChunkStore with 64 KiB segments', () => openTempStore({ segmentBytesMax: 64 * 1024 + 1024, chunkBytesMax: 60 * 1024, chunkCiphertextBytesMax: 60 * 1024 + 16 }));
