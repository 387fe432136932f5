// StoredLog: the read side of the Storage contract (storage.ts) over an in-memory view of the
// log — hard state, the latest snapshot, and the entries after it. MemoryStorage and the durable
// FileStorage keep the same view and differ only in how they write it, so both extend this.
import { RaftError } from './assert.js';
import type { Entry, HardState, LogIndex, Snapshot, Term } from './types.js';
import { logIndex, term as toTerm } from './types.js';

export abstract class StoredLog {
  protected state: HardState = { term: toTerm(0), vote: null, commit: logIndex(0) };
  /** log[k].index === snapshot index + 1 + k */
  protected log: Entry[] = [];

  constructor(protected currentSnapshot: Snapshot) {}

  hardState(): HardState {
    return this.state;
  }

  snapshot(): Snapshot {
    return this.currentSnapshot;
  }

  firstIndex(): LogIndex {
    return logIndex(this.currentSnapshot.meta.index + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.currentSnapshot.meta.index + this.log.length);
  }

  entries(low: LogIndex, high: LogIndex): Entry[] {
    if (low < this.firstIndex()) throw new RaftError('Compacted', `entries from ${low}`);
    if (high > this.lastIndex() + 1) throw new RaftError('Unavailable', `entries to ${high}`);
    const base = this.firstIndex();
    return this.log.slice(low - base, high - base);
  }

  term(index: LogIndex): Term {
    const snapshotIndex = this.currentSnapshot.meta.index;
    if (index === snapshotIndex) return this.currentSnapshot.meta.term;
    if (index < snapshotIndex) throw new RaftError('Compacted', `term at ${index}`);
    if (index > this.lastIndex()) throw new RaftError('Unavailable', `term at ${index}`);
    return this.log[index - snapshotIndex - 1].term;
  }
}
