// The log storage seam (STYLE.md §4). The core reads it once, at construction, to recover; the
// shell writes it from each Ready. Contract, for every implementation (proven by
// storage-conformance.ts):
// - Reads: hardState(), snapshot(), firstIndex() = snapshot index + 1, lastIndex() >= snapshot
//   index, entries(low, high) returns [low, high) or throws Compacted/Unavailable, term(i) works
//   for i in [snapshot index, lastIndex()].
// - append(entries) is atomic: it deletes every stored entry at index >= entries[0].index, then
//   stores the batch; entries[0].index must be in [firstIndex(), lastIndex() + 1]. Entries below
//   the snapshot are skipped.
// - applySnapshot(s) replaces everything: entries and the snapshot; compact(s) keeps entries
//   above s.meta.index and drops the rest.
// - Durability: a memory store is never durable; a disk store is durable when sync() returns.
//   Returned arrays are the caller's; entry data buffers are shared and must not be mutated.
import type { Entry, HardState, LogIndex, Membership, Snapshot, Term } from './types.js';

export interface Storage {
  hardState(): HardState;
  snapshot(): Snapshot;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  entries(low: LogIndex, high: LogIndex): Entry[];
  term(index: LogIndex): Term;
}

export interface WritableStorage extends Storage {
  setHardState(hardState: HardState): void;
  append(entries: readonly Entry[]): void;
  applySnapshot(snapshot: Snapshot): void;
  compact(snapshot: Snapshot): void;
}

/** The snapshot an empty store reports: index 0 with the bootstrap membership. */
export function bootstrapSnapshot(membership: Membership): Snapshot {
  return { meta: { index: 0 as LogIndex, term: 0 as Term, membership }, data: new Uint8Array(0) };
}
