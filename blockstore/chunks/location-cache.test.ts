import { describe, expect, it } from 'vitest';
import type { ChunkId } from './chunk-id.js';
import { LocationCache } from './location-cache.js';

const idOf = (n: number): ChunkId => n.toString(16).padStart(64, '0') as ChunkId;
const at = (offset: number) => ({ segmentNumber: 1, offset, ciphertextBytes: 10 });

describe('LocationCache', () => {
  it('drops an answer whose lookup began before a forget, keeps later ones', () => {
    const cache = new LocationCache(4);
    const before = cache.epoch;
    cache.forget([idOf(9)]); // a GC batch resolved while the lookup was in flight
    cache.remember(idOf(1), at(100), before);
    expect(cache.get(idOf(1))).toBeUndefined();
    cache.remember(idOf(1), at(200), cache.epoch);
    expect(cache.get(idOf(1))?.offset).toBe(200);
    cache.forget([idOf(1)]);
    expect(cache.get(idOf(1))).toBeUndefined();
  });

  it('holds at most entriesMax locations, evicting the oldest insertion', () => {
    const cache = new LocationCache(3);
    for (let n = 1; n <= 5; n++) cache.remember(idOf(n), at(n), cache.epoch);
    expect(cache.size).toBe(3);
    expect(cache.get(idOf(1))).toBeUndefined();
    expect(cache.get(idOf(2))).toBeUndefined();
    expect(cache.get(idOf(5))?.offset).toBe(5);
  });
});
