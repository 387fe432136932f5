// Test and bench helper: a SegmentChunkStore on a LevelMetaStore in a fresh directory under
// os.tmpdir(); cleanup closes the meta store and removes the directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelMetaStore } from '../meta/level-meta-store.js';
import type { ChunkStoreLimits } from './limits.js';
import { openChunkStore, type SegmentChunkStore } from './segment-chunk-store.js';

export interface TempStore {
  root: string;
  dir: string;
  meta: LevelMetaStore;
  store: SegmentChunkStore;
  reopen: () => Promise<SegmentChunkStore>;
  cleanup: () => Promise<void>;
}

export async function openTempStore(limits?: Partial<ChunkStoreLimits>, root?: string): Promise<TempStore> {
  const directory = root ?? await mkdtemp(join(tmpdir(), 'cairn-chunks-'));
  const meta = await LevelMetaStore.open(join(directory, 'meta'));
  const dir = join(directory, 'segments');
  const store = await openChunkStore({ dir, meta, limits });
  return {
    root: directory, dir, meta, store,
    reopen: () => openChunkStore({ dir, meta, limits }),
    cleanup: async () => {
      await meta.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
