// The leader's view of one follower (thesis §3.5 nextIndex/matchIndex, plus etcd-raft's flow
// control states). probe: one append at a time until we find the match point. replicate:
// pipeline appends optimistically, bounded by an inflight window (thesis §10.2.2). snapshot:
// stream InstallSnapshot chunks, one at a time, until the follower reports the restored index.
import { assert } from './assert.js';
import { raftInflightMsgsMax } from './limits.js';
import type { LogIndex } from './types.js';
import { logIndex } from './types.js';

/** A ring of the last index of each append in flight; freed as acknowledgements arrive. */
export class Inflights {
  private readonly ring: number[];
  private start = 0;
  count = 0;

  constructor(readonly capacity: number = raftInflightMsgsMax) {
    assert(capacity >= 1 && capacity <= raftInflightMsgsMax, `inflight capacity ${capacity}`);
    this.ring = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'inflights overflow');
    this.ring[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every message whose last index is <= `index`. */
  freeLE(index: number): void {
    while (this.count > 0 && this.ring[this.start] <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  /** Frees the oldest message: lets one more append out when the window may be full of losses. */
  freeFirst(): void {
    if (this.count > 0) this.freeLE(this.ring[this.start]);
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match: LogIndex = logIndex(0);
  next: LogIndex;
  state: ProgressState = 'probe';
  /** probe: an append is out and unanswered. */
  probeSent = false;
  /** snapshot: the snapshot being streamed and the byte offset the follower acknowledged. */
  pendingSnapshot: LogIndex = logIndex(0);
  snapshotOffset = 0;
  snapshotStallTicks = 0;
  /** Heard from since the last check-quorum round (thesis §6.2). */
  recentActive = false;
  readonly inflights = new Inflights();

  constructor(next: LogIndex) {
    this.next = next;
  }

  becomeProbe(): void {
    const floor = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.state = 'probe';
    this.next = logIndex(floor + 1);
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = logIndex(this.match + 1);
    this.inflights.reset();
  }

  becomeSnapshot(index: LogIndex): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotOffset = 0;
    this.snapshotStallTicks = 0;
    this.inflights.reset();
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'replicate') return this.inflights.full();
    return true;
  }

  /** An append carrying entries up to `lastIndex` (count of entries `count`) went out. */
  sentAppend(count: number, lastIndex: LogIndex): void {
    if (this.state === 'replicate' && count > 0) {
      this.next = logIndex(lastIndex + 1);
      this.inflights.add(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** A successful append response for `index`. Returns whether match advanced. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      this.probeSent = false;
      updated = true;
    }
    if (this.next < index + 1) this.next = logIndex(index + 1);
    return updated;
  }

  /**
   * A rejected append at `rejected`; `nextHint` is where to probe next. Returns false when the
   * rejection is stale (reordered or duplicated) and must be ignored.
   */
  maybeDecrease(rejected: LogIndex, nextHint: LogIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = logIndex(this.match + 1);
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = logIndex(Math.max(Math.min(rejected, nextHint), this.match + 1));
    this.probeSent = false;
    return true;
  }
}
