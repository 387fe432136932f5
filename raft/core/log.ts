// The core's view of the log: a snapshot point followed by entries, plus the three cursors
// committed >= applied (handed to the application) and stableIndex (durably persisted).
// The core keeps the whole un-compacted log in memory; the durable copy lives in Storage and is
// read back only at start. Entries above stableIndex are "unstable": the next Ready hands them
// to the shell to persist (etcd-raft's unstable/storage split, simplified to one array).
import { assert } from './assert.js';
import type { Entry, LogIndex, Membership, Snapshot, Term } from './types.js';
import { logIndex, term as toTerm } from './types.js';

export class RaftLog {
  snapshotIndex: LogIndex;
  snapshotTerm: Term;
  /** entries[k].index === snapshotIndex + 1 + k. */
  entries: Entry[];
  committed: LogIndex;
  /** Highest index handed to the application in a Ready (etcd's "applying"). */
  applied: LogIndex;
  /** Highest index the shell has persisted (confirmed by advance). */
  stableIndex: LogIndex;
  /** The latest snapshot we hold, sent to followers that fall behind the log start. */
  snapshot: Snapshot | null;
  /** A snapshot received from the leader and not yet handed out in a Ready. */
  pendingSnapshot: Snapshot | null = null;
  /** Membership as of snapshotIndex: in force when no config entry follows it. */
  snapshotMembership: Membership;
  /** Bumped on every truncation, so callers can tell that the log's tail was replaced. */
  truncations = 0;

  constructor(snapshot: Snapshot, entries: Entry[], committed: LogIndex, applied: LogIndex) {
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotTerm = snapshot.meta.term;
    this.snapshot = snapshot.meta.index > 0 ? snapshot : null;
    this.snapshotMembership = snapshot.meta.membership;
    this.entries = entries;
    for (let k = 0; k < entries.length; k++) {
      assert(entries[k].index === this.snapshotIndex + 1 + k, `log gap at ${entries[k].index}`);
    }
    this.stableIndex = this.lastIndex();
    assert(committed <= this.lastIndex(), `commit ${committed} beyond last ${this.lastIndex()}`);
    this.committed = committed < this.snapshotIndex ? this.snapshotIndex : committed;
    this.applied = applied < this.snapshotIndex ? this.snapshotIndex : applied;
    assert(this.applied <= this.committed, `applied ${this.applied} > committed ${this.committed}`);
  }

  firstIndex(): LogIndex {
    return logIndex(this.snapshotIndex + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.snapshotIndex + this.entries.length);
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }

  /** The term at `index`, or null when it is compacted away or beyond the end. */
  term(index: number): Term | null {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return null;
    return this.entries[index - this.snapshotIndex - 1].term;
  }

  matchTerm(index: number, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Raft paper §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Leader append: entries continue the log exactly. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, `append at ${entry.index}, last ${this.lastIndex()}`);
      this.entries.push(entry);
    }
  }

  /**
   * Follower append (Raft paper Figure 2, AppendEntries receiver rules 2–4). Returns the index of
   * the last new entry, or null when prevIndex/prevTerm do not match. Truncates only from the first
   * conflicting entry, so a stale, reordered append never erases newer matching entries.
   */
  maybeAppend(prevIndex: LogIndex, prevTerm: Term, entries: readonly Entry[]): LogIndex | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    let k = 0;
    while (k < entries.length && this.matchTerm(entries[k].index, entries[k].term)) k++;
    if (k < entries.length) {
      const conflict = entries[k].index;
      assert(conflict > this.committed, `conflict at ${conflict} <= committed ${this.committed}`);
      this.truncateFrom(conflict);
      this.append(entries.slice(k));
    }
    return logIndex(prevIndex + entries.length);
  }

  /** Drops entries at `index` and above; they were never committed (asserted by callers). */
  truncateFrom(index: LogIndex): void {
    assert(index > this.snapshotIndex, `truncate ${index} into snapshot ${this.snapshotIndex}`);
    this.truncations++;
    this.entries.length = Math.min(this.entries.length, index - this.snapshotIndex - 1);
    if (this.stableIndex >= index) this.stableIndex = logIndex(index - 1);
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries in [low, high), at most `countMax` of them and about `bytesMax` bytes (at least one). */
  slice(low: number, high: number, countMax: number, bytesMax: number): Entry[] {
    assert(low >= this.firstIndex() && high <= this.lastIndex() + 1, `slice [${low},${high}) out of log`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high && result.length < countMax; index++) {
      const entry = this.entries[index - this.snapshotIndex - 1];
      if (result.length > 0 && bytes + entry.data.length > bytesMax) break;
      bytes += entry.data.length;
      result.push(entry);
    }
    return result;
  }

  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.snapshotIndex);
  }

  /** Committed, persisted entries not yet handed to the application. */
  nextCommittedEntries(countMax: number): Entry[] {
    const high = Math.min(this.committed, this.stableIndex);
    if (high <= this.applied) return [];
    return this.slice(this.applied + 1, high + 1, countMax, Number.MAX_SAFE_INTEGER);
  }

  /** Largest index <= `index` whose term is <= `term` (for fast log backtracking, thesis §3.5). */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    let candidate = Math.min(index, this.lastIndex());
    while (candidate > this.snapshotIndex) {
      const found = this.term(candidate);
      if (found !== null && found <= term) break;
      candidate--;
    }
    return logIndex(candidate);
  }

  /** Replaces the log with a leader's snapshot (Raft paper §7, InstallSnapshot rules 6–8). */
  restore(snapshot: Snapshot): void {
    assert(snapshot.meta.index > this.committed, 'restore must move the commit forward');
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotTerm = snapshot.meta.term;
    this.entries = [];
    this.committed = snapshot.meta.index;
    this.applied = snapshot.meta.index;
    this.stableIndex = snapshot.meta.index;
    this.snapshot = snapshot;
    this.snapshotMembership = snapshot.meta.membership;
    this.pendingSnapshot = snapshot;
  }

  /** The application took a snapshot at `snapshot.meta.index`; drop the entries it covers. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    assert(index <= this.applied, `compact ${index} beyond applied ${this.applied}`);
    if (index <= this.snapshotIndex) return;
    assert(this.term(index) === snapshot.meta.term, `snapshot term mismatch at ${index}`);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = toTerm(snapshot.meta.term);
    this.snapshot = snapshot;
    this.snapshotMembership = snapshot.meta.membership;
  }
}
