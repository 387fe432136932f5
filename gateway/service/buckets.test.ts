// BucketService's record cache: reads after the first skip the MetaStore; every write (create,
// update, delete) is visible to the next find; a find that overlapped a write never leaves the
// old record cached. Method: a MemoryMetaStore wrapped to count gets and to hold one get open.
import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../blockstore/meta/index.js';
import { BucketService } from './buckets.js';

class GatedMetaStore extends MemoryMetaStore {
  gets = 0;
  gate: Promise<void> | undefined;
  override async get(key: string): Promise<Buffer | undefined> {
    this.gets++;
    const value = await super.get(key); // read now; answer when the gate opens
    if (this.gate) await this.gate;
    return value;
  }
}

describe('BucketService record cache', () => {
  it('reads a bucket record from the MetaStore once, then from the cache', async () => {
    const meta = new GatedMetaStore();
    const buckets = new BucketService(meta, () => 1000, 'us-east-1');
    await buckets.create('alice', 'photos');
    const before = meta.gets;
    await buckets.authorize('alice', 'photos');
    await buckets.authorize('alice', 'photos');
    expect(meta.gets - before).toBe(1);
  });

  it('serves every completed write to the next find: update, delete, create again', async () => {
    const meta = new GatedMetaStore();
    const buckets = new BucketService(meta, () => 1000, 'us-east-1');
    const created = await buckets.create('alice', 'photos');
    await buckets.find('photos');
    await buckets.update({ ...created, saltPolicy: { ...created.saltPolicy, salts: 3 } });
    expect((await buckets.find('photos'))?.saltPolicy.salts).toBe(3);
    await buckets.delete('alice', 'photos');
    expect(await buckets.find('photos')).toBeUndefined();
    await buckets.create('bob', 'photos');
    await expect(buckets.authorize('alice', 'photos')).rejects.toMatchObject({ code: 'AccessDenied' });
  });

  it('does not cache a record read while a write was under way', async () => {
    const meta = new GatedMetaStore();
    const buckets = new BucketService(meta, () => 1000, 'us-east-1');
    const created = await buckets.create('alice', 'photos');
    let open!: () => void;
    meta.gate = new Promise((resolve) => { open = resolve; });
    const stale = buckets.find('photos'); // reads the record with salts 1, answers later
    meta.gate = undefined;
    await buckets.update({ ...created, saltPolicy: { ...created.saltPolicy, salts: 5 } });
    open();
    expect((await stale)?.saltPolicy.salts).toBe(created.saltPolicy.salts);
    expect((await buckets.find('photos'))?.saltPolicy.salts).toBe(5);
  });

  it('hands out frozen records: a caller cannot change what others read', async () => {
    const meta = new GatedMetaStore();
    const buckets = new BucketService(meta, () => 1000, 'us-east-1');
    await buckets.create('alice', 'photos');
    const record = (await buckets.find('photos'))!;
    expect(() => { (record as { owner: string }).owner = 'mallory'; }).toThrow(TypeError);
  });
});
