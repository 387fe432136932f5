// RaftNode: the public face of the core, in etcd-raft's Ready shape (STYLE.md §1). Inputs are
// tick(), step(), propose(), readIndex(); the shell loops:
//   if (node.hasReady()) { const ready = node.ready();
//     persist ready.snapshot, ready.entries, ready.hardState (fsync when ready.mustSync);
//     send ready.messages; apply ready.snapshot then ready.committedEntries; serve ready.readStates;
//     node.advance(ready); }
// Messages are sent only after persisting, so every vote and acknowledgement is durable first.
import { assert, RaftError } from './assert.js';
import { campaign } from './election.js';
import { raftApplyEntriesMax, raftEntryBytesMax, raftUncommittedEntriesMax } from './limits.js';
import { applyChange, encodeMembership, isVoter, type MembershipChange } from './membership.js';
import { Raft, type RaftConfig } from './raft.js';
import { requestReadIndex } from './read-index.js';
import { leaderPersisted, sendAppend } from './replication.js';
import type { Storage } from './storage.js';
import type { Entry, HardState, LogIndex, Membership, Message, NodeId, ReadState, Role, Snapshot, Term } from './types.js';
import { logIndex } from './types.js';

export interface Ready {
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState: HardState | null;
  /** Append these, replacing any stored entries at the same or higher indexes. */
  readonly entries: readonly Entry[];
  /** Persist and apply before the entries; it replaces the whole log up to its index. */
  readonly snapshot: Snapshot | null;
  /** Send after persisting. */
  readonly messages: readonly Message[];
  /** Committed and persisted entries, in order, to apply to the state machine. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** False when only the commit index changed: the write may skip fsync (it can be recomputed). */
  readonly mustSync: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: Term;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly membership: Membership;
}

export class RaftNode {
  private readonly raft: Raft;
  private lastHardState: HardState;
  private outstanding: Ready | null = null;

  constructor(config: RaftConfig, storage: Storage) {
    const hardState = storage.hardState();
    const snapshot = storage.snapshot();
    const entries = storage.entries(storage.firstIndex(), logIndex(storage.lastIndex() + 1));
    this.raft = new Raft(config, hardState, snapshot, entries);
    this.lastHardState = hardState;
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: Message): void {
    this.raft.step(message);
  }

  /** Starts an election now (tests and scripts); pre-vote first when enabled. */
  campaign(): void {
    campaign(this.raft, this.raft.preVote ? 'preVote' : 'vote');
  }

  /** Appends `data` as a new entry on the leader; returns its index. Commit is not promised. */
  propose(data: Uint8Array): LogIndex {
    return this.proposeEntry('normal', data);
  }

  /** One single-server change at a time (thesis §4.1); needs an entry of this term committed. */
  proposeMembership(change: MembershipChange): LogIndex {
    const raft = this.raft;
    this.requireLeader();
    if (raft.log.committed < raft.leaderTermStart || raft.membershipIndex > raft.log.committed) {
      throw new RaftError('ConfigChangePending', 'a configuration change is still uncommitted', raft.id);
    }
    return this.proposeEntry('config', encodeMembership(applyChange(raft.membership, change)));
  }

  private proposeEntry(type: Entry['type'], data: Uint8Array): LogIndex {
    const raft = this.raft;
    this.requireLeader();
    if (raft.transferTarget !== null) throw new RaftError('ProposalDropped', 'leadership transfer in progress', raft.id);
    if (data.length > raftEntryBytesMax) throw new RaftError('EntryTooLarge', `${data.length} bytes`, raft.id);
    if (raft.log.lastIndex() - raft.log.committed >= raftUncommittedEntriesMax) {
      throw new RaftError('ProposalDropped', 'too many uncommitted entries', raft.id);
    }
    const index = logIndex(raft.log.lastIndex() + 1);
    raft.appendAsLeader([{ term: raft.term, index, type, data }]);
    return index;
  }

  /** Asks for a linearizable read point; it arrives later as a ReadState with this context. */
  readIndex(context: string): void {
    requestReadIndex(this.raft, context);
  }

  /** Thesis §3.10: catch the target up, then send it TimeoutNow. */
  transferLeadership(target: NodeId): void {
    const raft = this.raft;
    this.requireLeader();
    if (target === raft.id) return;
    if (!isVoter(raft.membership, target)) throw new RaftError('InvalidConfigChange', `${target} is not a voter`, raft.id);
    raft.transferTarget = target;
    raft.electionElapsed = 0;
    const progress = raft.progress.get(target)!;
    if (progress.match === raft.log.lastIndex()) {
      raft.send({ type: 'timeoutNow', from: raft.id, to: target, term: raft.term });
    } else {
      sendAppend(raft, target, true);
    }
  }

  /** The application snapshotted its state at `index` (<= applied); entries up to it are dropped. */
  compact(index: LogIndex, data: Uint8Array): Snapshot {
    const raft = this.raft;
    const term = raft.log.term(index);
    assert(term !== null && index <= raft.log.applied, `compact at ${index} outside applied log`);
    const snapshot: Snapshot = { meta: { index, term, membership: this.membershipAt(index) }, data };
    raft.log.compact(snapshot);
    return snapshot;
  }

  private membershipAt(index: LogIndex): Membership {
    const log = this.raft.log;
    for (let at = index; at > log.snapshotIndex; at--) {
      const entry = log.entries[at - log.snapshotIndex - 1];
      if (entry.type === 'config') return this.raft.membershipOf(entry);
    }
    return log.snapshotMembership;
  }

  private requireLeader(): void {
    if (this.raft.role !== 'leader') throw new RaftError('NotLeader', `node ${this.raft.id} is ${this.raft.role}`, this.raft.leader);
  }

  hasReady(): boolean {
    const raft = this.raft;
    return (
      raft.messages.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.pendingSnapshot !== null ||
      raft.log.lastIndex() > raft.log.stableIndex ||
      !sameHardState(raft.hardState(), this.lastHardState) ||
      Math.min(raft.log.committed, raft.log.stableIndex) > raft.log.applied
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, 'ready() called twice without advance()');
    const raft = this.raft;
    const hardState = raft.hardState();
    const changed = !sameHardState(hardState, this.lastHardState);
    const entries = raft.log.unstableEntries();
    const snapshot = raft.log.pendingSnapshot;
    const ready: Ready = {
      hardState: changed ? hardState : null,
      entries,
      snapshot,
      messages: raft.messages,
      committedEntries: raft.log.nextCommittedEntries(raftApplyEntriesMax),
      readStates: raft.readStates,
      mustSync:
        entries.length > 0 || snapshot !== null || hardState.term !== this.lastHardState.term || hardState.vote !== this.lastHardState.vote,
    };
    raft.messages = [];
    raft.readStates = [];
    raft.log.pendingSnapshot = null;
    if (ready.committedEntries.length > 0) raft.log.applied = ready.committedEntries[ready.committedEntries.length - 1].index;
    if (changed) this.lastHardState = hardState;
    this.outstanding = ready;
    return ready;
  }

  /** The shell persisted, sent and applied `ready`. */
  advance(ready: Ready): void {
    assert(this.outstanding === ready, 'advance() with a Ready that is not outstanding');
    this.outstanding = null;
    const raft = this.raft;
    const last = ready.entries[ready.entries.length - 1];
    // Entries replaced since ready() (a truncation) are not stable; the term check tells.
    if (last && raft.log.matchTerm(last.index, last.term) && last.index > raft.log.stableIndex) {
      raft.log.stableIndex = last.index;
    }
    leaderPersisted(raft);
  }

  status(): Status {
    const raft = this.raft;
    return {
      id: raft.id, term: raft.term, role: raft.role, leader: raft.leader,
      commit: raft.log.committed, applied: raft.log.applied, lastIndex: raft.log.lastIndex(),
      membership: raft.membership,
    };
  }

  /** For invariant checks: the term at `index`, or null when compacted or absent. */
  termAt(index: number): Term | null {
    return this.raft.log.term(index);
  }

  /** For invariant checks: the entry at `index` if the log still holds it. */
  entryAt(index: number): Entry | null {
    const log = this.raft.log;
    if (index <= log.snapshotIndex || index > log.lastIndex()) return null;
    return log.entries[index - log.snapshotIndex - 1];
  }

  snapshotIndex(): LogIndex {
    return this.raft.log.snapshotIndex;
  }

  /** Exposed for tests and scenario scripts only. */
  get internals(): Raft {
    return this.raft;
  }
}

function sameHardState(left: HardState, right: HardState): boolean {
  return left.term === right.term && left.vote === right.vote && left.commit === right.commit;
}
