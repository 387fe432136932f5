// Method: FileStorage runs the shared Storage conformance suite, then crash-recovery cases made by
// damaging the files the way a crash or a bad disk would: a torn last record, a flipped byte, a
// crash between writing a snapshot and rewriting the log. Each reopen must recover exactly the
// records that were whole, and never replay garbage.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { storageConformance } from '../core/storage-conformance.js';
import { logIndex, nodeId, term, type Entry } from '../core/index.js';
import { FileStorage } from './file-storage.js';

const membership = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };
const directories: string[] = [];
const fresh = () => {
  const directory = mkdtempSync(join(tmpdir(), 'raft-storage-'));
  directories.push(directory);
  return directory;
};
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});
const entry = (index: number, entryTerm: number, text = `e${index}`): Entry => ({
  index: logIndex(index), term: term(entryTerm), type: 'normal', data: new TextEncoder().encode(text),
});

storageConformance('FileStorage', () => new FileStorage(fresh(), membership));

describe('FileStorage recovery', () => {
  it('reopens with the entries, hard state and snapshot it synced', () => {
    const directory = fresh();
    const store = new FileStorage(directory, membership);
    store.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    store.setHardState({ term: term(2), vote: nodeId(3), commit: logIndex(2) });
    store.compact({ meta: { index: logIndex(1), term: term(1), membership }, data: new Uint8Array([7]) });
    store.append([entry(3, 3), entry(4, 3)]);
    store.sync();
    store.close();
    const reopened = new FileStorage(directory, membership);
    expect(reopened.hardState()).toEqual({ term: 2, vote: 3, commit: 2 });
    expect(reopened.snapshot().meta.index).toBe(1);
    expect(reopened.snapshot().data).toEqual(new Uint8Array([7]));
    expect(reopened.entries(logIndex(2), logIndex(5)).map((e) => `${e.index}/${e.term}`)).toEqual(['2/1', '3/3', '4/3']);
    expect(reopened.recovery).toEqual({ tornBytes: 0, droppedEntries: 0 });
  });

  it('cuts a torn last record and keeps appending after it', () => {
    const directory = fresh();
    const store = new FileStorage(directory, membership);
    store.append([entry(1, 1), entry(2, 1, 'x'.repeat(100))]);
    store.close();
    const path = join(directory, 'raft.log');
    truncateSync(path, statSync(path).size - 30); // the crash tore the second record
    const reopened = new FileStorage(directory, membership);
    expect(reopened.lastIndex()).toBe(1);
    expect(reopened.recovery.tornBytes).toBeGreaterThan(0);
    reopened.append([entry(2, 2)]);
    reopened.close();
    const again = new FileStorage(directory, membership);
    expect(again.entries(logIndex(1), logIndex(3)).map((e) => e.term)).toEqual([1, 2]);
    expect(again.recovery.tornBytes).toBe(0);
  });

  it('treats a corrupted record and everything after it as torn, never as data', () => {
    const directory = fresh();
    const store = new FileStorage(directory, membership);
    store.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    store.close();
    const path = join(directory, 'raft.log');
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff; // a flipped bit in the last record's data
    writeFileSync(path, bytes);
    const reopened = new FileStorage(directory, membership);
    expect(reopened.lastIndex()).toBe(2);
  });

  it('ignores trailing zeros (a preallocated or half-written page)', () => {
    const directory = fresh();
    const store = new FileStorage(directory, membership);
    store.append([entry(1, 1)]);
    store.close();
    appendFileSync(join(directory, 'raft.log'), new Uint8Array(64));
    expect(new FileStorage(directory, membership).lastIndex()).toBe(1);
  });

  it('drops entries that diverge from a snapshot written just before a crash', () => {
    const directory = fresh();
    const store = new FileStorage(directory, membership);
    store.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    store.close();
    const logBefore = readFileSync(join(directory, 'raft.log'));
    const leaderSnapshot = { meta: { index: logIndex(2), term: term(2), membership }, data: new Uint8Array([1]) };
    const writer = new FileStorage(directory, membership);
    writer.applySnapshot(leaderSnapshot);
    writer.close();
    writeFileSync(join(directory, 'raft.log'), logBefore); // the crash hit before the log rewrite
    const reopened = new FileStorage(directory, membership);
    expect(reopened.snapshot().meta.index).toBe(2);
    expect(reopened.lastIndex()).toBe(2); // 3/1 followed 2/1, not the snapshot's 2/2
    expect(reopened.recovery.droppedEntries).toBe(3);
  });
});
