// LevelMetaStore: the shared conformance suite against a real LevelDB in a temp dir, plus proof
// that concurrent batches share LevelDB writes (group commit) instead of one fsync each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelMetaStore } from './level-meta-store.js';
import { metaStoreConformance } from './meta-conformance.js';

metaStoreConformance('LevelMetaStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'cairn-meta-'));
  return {
    store: await LevelMetaStore.open(directory),
    reopen: () => LevelMetaStore.open(directory),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describe('LevelMetaStore group commit', () => {
  it('coalesces 500 concurrent batches into far fewer synced writes', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cairn-meta-'));
    const store = await LevelMetaStore.open(directory);
    try {
      await Promise.all(Array.from({ length: 500 }, (_, index) =>
        store.batch([{ type: 'put', key: `gc/${index}`, value: Buffer.from([index & 0xff]) }])));
      expect(store.writesIssued).toBeLessThan(50);
      expect((await store.get('gc/499'))?.[0]).toBe(499 & 0xff);
    } finally {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
