// Method: RecordCache driven with hand-made loads (no store): a hit loads nothing, invalidate()
// forces a fresh load, a read that raced a change answers but never fills the cache with the
// old record, and cached records are frozen so the invoke path cannot corrupt them.
import { describe, expect, it } from 'vitest';
import { RecordCache } from './record-cache.js';

function counter(value: () => { version: number; name: string } | undefined) {
  let loads = 0;
  return { load: async () => { loads++; return value(); }, loads: () => loads };
}

describe('RecordCache', () => {
  it('RecordCache serves a second read from memory and reloads after invalidate', async () => {
    const cache = new RecordCache(() => false);
    let stored = { version: 1, name: 'a' };
    const source = counter(() => stored);
    expect(await cache.read('acct/f', 'k', source.load)).toEqual({ version: 1, name: 'a' });
    expect(await cache.read('acct/f', 'k', source.load)).toEqual({ version: 1, name: 'a' });
    expect(source.loads()).toBe(1);
    stored = { version: 1, name: 'b' };
    cache.invalidate('acct/f');
    expect(await cache.read('acct/f', 'k', source.load)).toEqual({ version: 1, name: 'b' });
    expect(source.loads()).toBe(2);
  });

  it('RecordCache remembers a missing record until invalidated', async () => {
    const cache = new RecordCache(() => false);
    const source = counter(() => undefined);
    expect(await cache.read('acct/f', 'k', source.load)).toBeUndefined();
    expect(await cache.read('acct/f', 'k', source.load)).toBeUndefined();
    expect(source.loads()).toBe(1);
  });

  it('RecordCache does not keep a record read while a change ran', async () => {
    let changing = false;
    const cache = new RecordCache(() => changing);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const stale = cache.read('acct/f', 'k', async () => { await gate; return { version: 1, name: 'old' }; });
    cache.invalidate('acct/f'); // a change begins and ends while the read is in flight
    release();
    expect(await stale).toEqual({ version: 1, name: 'old' });
    const fresh = counter(() => ({ version: 1, name: 'new' }));
    expect(await cache.read('acct/f', 'k', fresh.load)).toEqual({ version: 1, name: 'new' });
    changing = true; // reads during a change are not cached either
    cache.invalidate('acct/f');
    await cache.read('acct/f', 'k', fresh.load);
    await cache.read('acct/f', 'k', fresh.load);
    expect(fresh.loads()).toBe(3);
  });

  it('RecordCache hands out frozen records', async () => {
    const cache = new RecordCache(() => false);
    const record = await cache.read('acct/f', 'k', async () => ({ version: 1, nested: { list: [1] } }));
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record!.nested.list)).toBe(true);
  });
});
