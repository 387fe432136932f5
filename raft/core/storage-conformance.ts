// The shared suite every Storage implementation runs (STYLE.md §4): append replaces the tail
// atomically, compaction and snapshots move firstIndex, reads outside the log fail with typed
// errors. MemoryStorage runs it now; the durable log will run the same suite.
import { describe, expect, it } from 'vitest';
import { isRaftError } from './assert.js';
import type { WritableStorage } from './storage.js';
import type { Entry } from './types.js';
import { logIndex, nodeId, term } from './types.js';

const entry = (index: number, entryTerm: number): Entry => ({
  index: logIndex(index), term: term(entryTerm), type: 'normal', data: new Uint8Array([index]),
});
const membership = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };

export function storageConformance(name: string, create: () => WritableStorage): void {
  describe(`${name} storage conformance`, () => {
    it('starts empty at index 0 with the bootstrap membership', () => {
      const storage = create();
      expect(storage.firstIndex()).toBe(1);
      expect(storage.lastIndex()).toBe(0);
      expect(storage.term(logIndex(0))).toBe(0);
      expect(storage.hardState()).toEqual({ term: 0, vote: null, commit: 0 });
    });

    it('append replaces everything from the first new index on', () => {
      const storage = create();
      storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
      storage.append([entry(2, 2)]);
      expect(storage.lastIndex()).toBe(2);
      expect(storage.entries(logIndex(1), logIndex(3)).map((e) => e.term)).toEqual([1, 2]);
    });

    it('refuses an append that would leave a gap', () => {
      const storage = create();
      storage.append([entry(1, 1)]);
      expect(() => storage.append([entry(3, 1)])).toThrow(/gap/);
    });

    it('compact drops entries up to the snapshot and reports Compacted below it', () => {
      const storage = create();
      storage.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
      storage.compact({ meta: { index: logIndex(2), term: term(1), membership }, data: new Uint8Array([9]) });
      expect(storage.firstIndex()).toBe(3);
      expect(storage.term(logIndex(2))).toBe(1);
      expect(storage.entries(logIndex(3), logIndex(4))).toHaveLength(1);
      try {
        storage.entries(logIndex(1), logIndex(3));
        expect.unreachable();
      } catch (error) {
        expect(isRaftError(error, 'Compacted')).toBe(true);
      }
    });

    it('applySnapshot replaces the whole log', () => {
      const storage = create();
      storage.append([entry(1, 1), entry(2, 1)]);
      storage.applySnapshot({ meta: { index: logIndex(10), term: term(3), membership }, data: new Uint8Array() });
      expect(storage.firstIndex()).toBe(11);
      expect(storage.lastIndex()).toBe(10);
      storage.append([entry(11, 3)]);
      expect(storage.lastIndex()).toBe(11);
    });

    it('keeps the hard state it was given', () => {
      const storage = create();
      storage.setHardState({ term: term(4), vote: nodeId(2), commit: logIndex(0) });
      expect(storage.hardState()).toEqual({ term: 4, vote: 2, commit: 0 });
    });
  });
}
