// One behavioural suite for every MetaStore (STYLE.md §4). Method: each case opens a fresh store
// through the factory, drives it only through the interface, and checks the contract written in
// meta-store.ts: atomic ordered batches, UTF-8 key order, range bounds, snapshot iteration,
// buffer ownership, and (when the factory can reopen) durability across close/open.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../dedup/errors.js';
import type { MetaOp, MetaStore } from './meta-store.js';

export interface MetaStoreFixture {
  store: MetaStore;
  /** Closes nothing; opens the same data again after the caller closed `store`. */
  reopen?: () => Promise<MetaStore>;
  cleanup: () => Promise<void>;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

async function collect(iterable: AsyncIterable<[string, Buffer]>): Promise<Array<[string, string]>> {
  const result: Array<[string, string]> = [];
  for await (const [key, value] of iterable) result.push([key, value.toString('utf8')]);
  return result;
}

export function metaStoreConformance(name: string, openFixture: () => Promise<MetaStoreFixture>): void {
  describe(`MetaStore conformance: ${name}`, () => {
    let fixture: MetaStoreFixture;
    let store: MetaStore;
    beforeEach(async () => {
      fixture = await openFixture();
      store = fixture.store;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('get of a missing key answers undefined', async () => {
      expect(await store.get('x/missing')).toBeUndefined();
    });

    it('batch puts, overwrites and deletes in array order', async () => {
      await store.batch([{ type: 'put', key: 'k/a', value: bytes('1') }, { type: 'put', key: 'k/a', value: bytes('2') }]);
      expect((await store.get('k/a'))?.toString()).toBe('2');
      await store.batch([{ type: 'put', key: 'k/b', value: bytes('x') }, { type: 'del', key: 'k/b' }]);
      expect(await store.get('k/b')).toBeUndefined();
      await store.batch([{ type: 'del', key: 'k/c' }, { type: 'put', key: 'k/c', value: bytes('y') }]);
      expect((await store.get('k/c'))?.toString()).toBe('y');
      await store.batch([{ type: 'del', key: 'k/a' }]);
      expect(await store.get('k/a')).toBeUndefined();
    });

    it('batch with an invalid op applies nothing', async () => {
      await expect(store.batch([
        { type: 'put', key: 'k/ok', value: bytes('1') },
        { type: 'put', key: '', value: bytes('2') },
      ])).rejects.toBeInstanceOf(AssertionError);
      expect(await store.get('k/ok')).toBeUndefined();
    });

    it('empty value and empty batch are allowed', async () => {
      await store.batch([]);
      await store.batch([{ type: 'put', key: 'k/empty', value: Buffer.alloc(0) }]);
      expect((await store.get('k/empty'))?.length).toBe(0);
    });

    it('iterate honours gte, gt, lt, lte, reverse and limit', async () => {
      await store.batch(['a', 'b', 'c', 'd', 'e'].map((k) => ({ type: 'put' as const, key: `r/${k}`, value: bytes(k) })));
      await store.batch([{ type: 'put', key: 'q/outside', value: bytes('-') }, { type: 'put', key: 's/outside', value: bytes('-') }]);
      const keys = async (range: Parameters<MetaStore['iterate']>[0]) => (await collect(store.iterate(range))).map(([k]) => k);
      expect(await keys({ gte: 'r/', lt: 'r0' })).toEqual(['r/a', 'r/b', 'r/c', 'r/d', 'r/e']);
      expect(await keys({ gt: 'r/b', lte: 'r/d' })).toEqual(['r/c', 'r/d']);
      expect(await keys({ gte: 'r/b', lt: 'r/d' })).toEqual(['r/b', 'r/c']);
      expect(await keys({ gte: 'r/', lt: 'r0', reverse: true })).toEqual(['r/e', 'r/d', 'r/c', 'r/b', 'r/a']);
      expect(await keys({ gte: 'r/', lt: 'r0', reverse: true, limit: 2 })).toEqual(['r/e', 'r/d']);
      expect(await keys({ gt: 'r/a', lte: 'r/e', limit: 3 })).toEqual(['r/b', 'r/c', 'r/d']);
      expect(await keys({ gt: 'r/x', lt: 'r0' })).toEqual([]);
      expect(await keys({})).toEqual(['q/outside', 'r/a', 'r/b', 'r/c', 'r/d', 'r/e', 's/outside']);
    });

    it('keys order as UTF-8 bytes, not UTF-16 code units', async () => {
      const astral = 'u/\u{1F600}'; // UTF-8 F0 9F 98 80: sorts after U+FFFD (EF BF BD)
      const bmpHigh = 'u/\uFFFD';
      const ascii = 'u/z';
      await store.batch([astral, bmpHigh, ascii].map((key) => ({ type: 'put' as const, key, value: bytes(key) })));
      expect((await collect(store.iterate({ gte: 'u/', lt: 'u0' }))).map(([k]) => k)).toEqual([ascii, bmpHigh, astral]);
      expect((await store.get(astral))?.toString()).toBe(astral);
    });

    it('an iteration sees the snapshot taken when it began', async () => {
      await store.batch([{ type: 'put', key: 'n/1', value: bytes('1') }, { type: 'put', key: 'n/3', value: bytes('3') }]);
      const seen: string[] = [];
      for await (const [key] of store.iterate({ gte: 'n/', lt: 'n0' })) {
        seen.push(key);
        if (key === 'n/1') await store.batch([{ type: 'put', key: 'n/2', value: bytes('2') }, { type: 'del', key: 'n/3' }]);
      }
      expect(seen).toEqual(['n/1', 'n/3']);
      expect((await collect(store.iterate({ gte: 'n/', lt: 'n0' }))).map(([k]) => k)).toEqual(['n/1', 'n/2']);
    });

    it('getMany answers each key in order, undefined where absent, with fresh buffers', async () => {
      await store.batch([{ type: 'put', key: 'm/1', value: bytes('one') }, { type: 'put', key: 'm/3', value: bytes('three') }]);
      const values = await store.getMany(['m/3', 'm/2', 'm/1', 'm/3']);
      expect(values.map((value) => value?.toString())).toEqual(['three', undefined, 'one', 'three']);
      values[0]!.fill(0x7a);
      expect((await store.getMany(['m/3']))[0]?.toString()).toBe('three');
      expect(await store.getMany([])).toEqual([]);
      await store.batch([{ type: 'del', key: 'm/1' }]);
      expect(await store.getMany(['m/1'])).toEqual([undefined]);
      await expect(store.getMany(['m/1', ''])).rejects.toBeInstanceOf(AssertionError);
    });

    it('breaking out of an iteration early releases it', async () => {
      await store.batch([{ type: 'put', key: 'b/1', value: bytes('1') }, { type: 'put', key: 'b/2', value: bytes('2') }]);
      for await (const [key] of store.iterate({ gte: 'b/' })) { expect(key).toBe('b/1'); break; }
      expect((await store.get('b/2'))?.toString()).toBe('2');
    });

    it('buffers passed in and handed out are not shared with the store', async () => {
      const value = bytes('abc');
      await store.batch([{ type: 'put', key: 'own/1', value }]);
      value.fill(0x7a);
      const first = (await store.get('own/1'))!;
      expect(first.toString()).toBe('abc');
      first.fill(0x79);
      expect((await store.get('own/1'))!.toString()).toBe('abc');
      for await (const [, iterated] of store.iterate({ gte: 'own/' })) iterated.fill(0x78);
      expect((await store.get('own/1'))!.toString()).toBe('abc');
    });

    it('batchFrom applies every slice in order as one batch; a throwing source writes nothing', async () => {
      async function* slices(fail: boolean): AsyncIterable<MetaOp[]> {
        for (let slice = 0; slice < 5; slice++) {
          yield Array.from({ length: 100 }, (_, index) => ({ type: 'put' as const, key: `s/${slice}/${String(index).padStart(3, '0')}`, value: bytes(`${slice}`) }));
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (fail) throw new Error('source failed');
        yield [{ type: 'del', key: 's/0/000' }, { type: 'put', key: 's/1/000', value: bytes('last wins') }];
      }
      const racing = store.batch([{ type: 'put', key: 'r/alongside', value: bytes('1') }]);
      await expect(store.batchFrom(slices(true))).rejects.toThrow('source failed');
      await racing;
      expect(await collect(store.iterate({ gte: 's/', lt: 's0' }))).toEqual([]);
      await store.batchFrom(slices(false));
      const written = await collect(store.iterate({ gte: 's/', lt: 's0' }));
      expect(written.length).toBe(499);
      expect(await store.get('s/0/000')).toBeUndefined();
      expect((await store.get('s/1/000'))?.toString()).toBe('last wins');
      expect((await store.get('r/alongside'))?.toString()).toBe('1');
    });

    it('batchFrom with an invalid op in a later slice applies nothing', async () => {
      async function* slices(): AsyncIterable<MetaOp[]> {
        yield [{ type: 'put', key: 'v/ok', value: bytes('1') }];
        yield [{ type: 'put', key: '', value: bytes('2') }];
      }
      await expect(store.batchFrom(slices())).rejects.toBeInstanceOf(AssertionError);
      expect(await store.get('v/ok')).toBeUndefined();
    });

    it('concurrent batches all apply, each atomically', async () => {
      const writers = Array.from({ length: 200 }, (_, index) => store.batch([
        { type: 'put', key: `g/${String(index).padStart(3, '0')}/a`, value: bytes(String(index)) },
        { type: 'put', key: `g/${String(index).padStart(3, '0')}/b`, value: bytes(String(index)) },
      ]));
      await Promise.all(writers);
      const entries = await collect(store.iterate({ gte: 'g/', lt: 'g0' }));
      expect(entries.length).toBe(400);
      for (let index = 0; index < entries.length; index += 2) expect(entries[index][1]).toBe(entries[index + 1][1]);
    });

    it('rejects malformed ranges and keys as assertion failures', async () => {
      await expect(store.get('')).rejects.toBeInstanceOf(AssertionError);
      await expect(collect(store.iterate({ gt: 'a', gte: 'a' }))).rejects.toBeInstanceOf(AssertionError);
      await expect(collect(store.iterate({ limit: 0 }))).rejects.toBeInstanceOf(AssertionError);
    });

    it('resolved batches survive close and reopen', async () => {
      if (fixture.reopen === undefined) return;
      await store.batch([{ type: 'put', key: 'd/1', value: bytes('durable') }, { type: 'del', key: 'd/2' }]);
      await store.close();
      store = await fixture.reopen();
      expect((await store.get('d/1'))?.toString()).toBe('durable');
    });
  });
}
