// MemoryStorage: the in-memory implementation of the Storage contract (storage.ts). Nothing is
// durable; the simulator layers its own "unsynced writes are lost on crash" model on top.
import { assert } from './assert.js';
import { StoredLog } from './stored-log.js';
import { emptyMembership } from './membership.js';
import { bootstrapSnapshot, type WritableStorage } from './storage.js';
import type { Entry, HardState, Membership, Snapshot } from './types.js';

export class MemoryStorage extends StoredLog implements WritableStorage {
  constructor(membership: Membership = emptyMembership) {
    super(bootstrapSnapshot(membership));
  }

  setHardState(hardState: HardState): void {
    this.state = hardState;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const snapshotIndex = this.currentSnapshot.meta.index;
    const fresh = entries.filter((entry) => entry.index > snapshotIndex);
    if (fresh.length === 0) return;
    const first = fresh[0].index;
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.log.length = first - snapshotIndex - 1;
    for (const entry of fresh) {
      assert(entry.index === this.lastIndex() + 1, 'append batch is not contiguous');
      this.log.push(entry);
    }
  }

  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= this.currentSnapshot.meta.index, 'snapshot older than the stored one');
    this.currentSnapshot = snapshot;
    this.log = [];
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.currentSnapshot.meta.index) return;
    assert(index <= this.lastIndex(), `compact ${index} beyond last ${this.lastIndex()}`);
    assert(this.term(index) === snapshot.meta.term, `compact term mismatch at ${index}`);
    this.log = this.log.slice(index - this.currentSnapshot.meta.index);
    this.currentSnapshot = snapshot;
  }

  /** A deep-enough copy for the simulator's crash model (entries are immutable and shared). */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    copy.state = this.state;
    copy.currentSnapshot = this.currentSnapshot;
    copy.log = [...this.log];
    return copy;
  }
}
