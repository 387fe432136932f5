// The Raft state machine: roles, terms, timers in ticks, and message dispatch. Handlers for each
// message family live beside it (election.ts, replication.ts, snapshot-transfer.ts,
// read-index.ts) so that no function grows into a stepLeader. `send` only queues: the shell sends
// after persisting (STYLE.md §1). Section numbers cite the Raft thesis (Ongaro 2014).
import { assert } from './assert.js';
import { handleTimeoutNow, handleVote, handleVoteResponse, campaign } from './election.js';
import { raftElectionTicksMax, raftElectionTicksMin, raftHeartbeatTicksMin, raftSnapshotChunkBytesMax } from './limits.js';
import { RaftLog } from './log.js';
import { decodeMembership, emptyMembership, isMember, isVoter, quorumSize } from './membership.js';
import { Progress } from './progress.js';
import { handleHeartbeatResponse, resetReadIndex, type ReadRequest } from './read-index.js';
import {
  broadcastAppend,
  broadcastHeartbeat,
  handleAppend,
  handleAppendResponse,
  handleHeartbeat,
} from './replication.js';
import { handleSnapshotChunk, handleSnapshotResponse, snapshotTick, type SnapshotReceive } from './snapshot-transfer.js';
import type { Entry, HardState, LogIndex, Membership, Message, NodeId, RandomSource, ReadState, Role, Snapshot, Term } from './types.js';
import { logIndex, term as toTerm } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without a leader before campaigning; randomised in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Seeded by the caller; the core's only randomness (STYLE.md §8). */
  readonly random: RandomSource;
  /** Pre-vote (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Check-quorum and leader lease on votes (thesis §6.2, §4.2.3). Default true. */
  readonly checkQuorum?: boolean;
  readonly snapshotChunkBytes?: number;
  /** Index the application has already applied (its state includes it). Default: snapshot index. */
  readonly applied?: LogIndex;
}

export class Raft {
  readonly id: NodeId;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly snapshotChunkBytes: number;
  private readonly random: RandomSource;

  term: Term;
  vote: NodeId | null;
  role: Role = 'follower';
  leader: NodeId | null = null;
  log: RaftLog;
  membership: Membership = emptyMembership;
  /** Index of the config entry in force; 0 when it comes from the snapshot. */
  membershipIndex: LogIndex = logIndex(0);
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Index of this leader's first entry (its no-op); committing it commits all before (§5.4.2). */
  leaderTermStart: LogIndex = logIndex(0);
  transferTarget: NodeId | null = null;
  readRequests: ReadRequest[] = [];
  snapshotReceive: SnapshotReceive | null = null;
  messages: Message[] = [];
  readStates: ReadState[] = [];

  constructor(config: RaftConfig, hardState: HardState, snapshot: Snapshot, entries: Entry[]) {
    assert(config.electionTicks >= raftElectionTicksMin && config.electionTicks <= raftElectionTicksMax, 'electionTicks out of range');
    assert(config.heartbeatTicks >= raftHeartbeatTicksMin && config.heartbeatTicks < config.electionTicks, 'heartbeatTicks must be below electionTicks');
    this.id = config.id;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.snapshotChunkBytes = config.snapshotChunkBytes ?? raftSnapshotChunkBytesMax;
    assert(this.snapshotChunkBytes >= 1 && this.snapshotChunkBytes <= raftSnapshotChunkBytesMax, 'snapshotChunkBytes');
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log = new RaftLog(snapshot, entries, hardState.commit, config.applied ?? snapshot.meta.index);
    this.recomputeMembership();
    this.becomeFollower(this.term, null);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  isPromotable(): boolean {
    return isVoter(this.membership, this.id);
  }

  send(message: Message): void {
    assert(message.from === this.id && message.to !== this.id, 'message addressed to self');
    this.messages.push(message);
  }

  peers(): NodeId[] {
    return [...this.membership.voters, ...this.membership.learners].filter((id) => id !== this.id);
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTicks + this.random.nextBelow(this.electionTicks);
  }

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.clear();
    this.progress.clear();
    this.transferTarget = null;
    resetReadIndex(this);
  }

  becomeFollower(term: Term, leader: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot pre-campaign');
    // Pre-vote changes neither term nor vote (thesis §9.6): a partitioned node cannot inflate terms.
    this.votes.clear();
    this.leader = null;
    this.role = 'preCandidate';
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot campaign');
    this.reset(toTerm(this.term + 1));
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(this.role === 'candidate', `becomeLeader from ${this.role}`);
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    for (const id of [...this.membership.voters, ...this.membership.learners]) this.addProgress(id);
    const self = this.progress.get(this.id);
    if (self) {
      self.match = this.log.stableIndex;
      self.becomeReplicate();
    }
    // A blank entry of the new term: committing it commits everything before it (thesis §3.6.2,
    // §6.4), and gates ReadIndex and config changes.
    this.leaderTermStart = logIndex(this.log.lastIndex() + 1);
    this.appendAsLeader([{ term: this.term, index: this.leaderTermStart, type: 'normal', data: new Uint8Array(0) }]);
  }

  addProgress(id: NodeId): void {
    if (!this.progress.has(id)) this.progress.set(id, new Progress(logIndex(this.log.lastIndex() + 1)));
  }

  appendAsLeader(entries: Entry[]): void {
    this.log.append(entries);
    this.noteAppended(entries);
    broadcastAppend(this);
  }

  /** Config entries take effect on append (thesis §4.1). */
  noteAppended(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type === 'config') this.setMembership(decodeMembership(entry.data), entry.index);
    }
  }

  membershipOf(entry: Entry): Membership {
    assert(entry.type === 'config', 'membershipOf a normal entry');
    return decodeMembership(entry.data);
  }

  /** After a truncation or a restore: the latest config entry left in the log, else the snapshot's. */
  recomputeMembership(): void {
    for (let k = this.log.entries.length - 1; k >= 0; k--) {
      const entry = this.log.entries[k];
      if (entry.type === 'config') return this.setMembership(decodeMembership(entry.data), entry.index);
    }
    this.setMembership(this.log.snapshotMembership, logIndex(0));
  }

  private setMembership(membership: Membership, index: LogIndex): void {
    this.membership = membership;
    this.membershipIndex = index;
    if (this.role !== 'leader') return;
    for (const id of [...membership.voters, ...membership.learners]) this.addProgress(id);
    for (const id of [...this.progress.keys()]) {
      if (!isMember(membership, id) && id !== this.id) this.progress.delete(id);
    }
    if (this.transferTarget !== null && !isVoter(membership, this.transferTarget)) this.transferTarget = null;
  }

  /** Leader: advance commit to the quorum match, only for an entry of this term (§3.6.2, Figure 8). */
  maybeCommit(): boolean {
    const matches = this.membership.voters.map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    if (matches.length === 0) return false;
    const index = logIndex(matches[quorumSize(this.membership) - 1]);
    if (this.log.term(index) !== this.term) return false;
    if (!this.log.commitTo(index)) return false;
    // A leader removed from the configuration steps down once the change commits (thesis §4.2.2).
    if (!isVoter(this.membership, this.id) && this.membershipIndex <= this.log.committed) {
      broadcastAppend(this); // tell the others the change committed before going quiet
      this.becomeFollower(this.term, null);
    }
    return true;
  }

  tick(): void {
    if (this.role === 'leader') return this.tickLeader();
    this.electionElapsed++;
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      campaign(this, this.preVote ? 'preVote' : 'vote');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) return this.becomeFollower(this.term, null);
      // A transfer that has not finished within an election timeout is abandoned (thesis §3.10).
      this.transferTarget = null;
    }
    snapshotTick(this);
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      broadcastHeartbeat(this, null);
    }
  }

  /** Check-quorum (thesis §6.2): step down unless a quorum was heard from this round. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.membership.voters) {
      const progress = this.progress.get(id);
      if (id === this.id || progress?.recentActive) active++;
      if (progress) progress.recentActive = false;
    }
    return active >= quorumSize(this.membership);
  }

  step(message: Message): void {
    assert(message.to === this.id, `message for ${message.to} stepped into ${this.id}`);
    if (message.term > this.term) {
      if (!this.stepHigherTerm(message)) return;
    } else if (message.term < this.term) {
      return this.stepLowerTerm(message);
    }
    this.stepCurrentTerm(message);
  }

  /** Returns false when the message must be dropped. */
  private stepHigherTerm(message: Message): boolean {
    if (message.type === 'preVote' || message.type === 'vote') {
      // Leader lease (thesis §4.2.3): while we hear from a leader, ignore would-be disruptors.
      const inLease = this.checkQuorum && this.leader !== null && this.electionElapsed < this.electionTicks;
      if (inLease && !message.transfer) return false;
    }
    if (message.type === 'preVote' || (message.type === 'preVoteResp' && message.granted)) return true;
    const fromLeader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot';
    this.becomeFollower(message.term, fromLeader ? message.from : null);
    return true;
  }

  private stepLowerTerm(message: Message): void {
    const fromLeader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot';
    if (fromLeader && (this.checkQuorum || this.preVote)) {
      // A stale leader cut off by pre-vote would never learn our term; tell it (etcd-raft does the
      // same), so it steps down and the cluster can elect someone who can win.
      this.send({ type: 'appendResp', from: this.id, to: message.from, term: this.term, index: logIndex(0), reject: false, hintIndex: logIndex(0), hintTerm: toTerm(0) });
    } else if (message.type === 'preVote') {
      this.send({ type: 'preVoteResp', from: this.id, to: message.from, term: this.term, granted: false });
    }
  }

  private stepCurrentTerm(message: Message): void {
    switch (message.type) {
      case 'preVote':
      case 'vote':
        return handleVote(this, message);
      case 'preVoteResp':
      case 'voteResp':
        return handleVoteResponse(this, message);
      case 'timeoutNow':
        return handleTimeoutNow(this, message);
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        assert(this.role !== 'leader', `two leaders in term ${this.term}: ${this.id} and ${message.from}`);
        if (this.role !== 'follower') this.becomeFollower(this.term, message.from);
        this.electionElapsed = 0;
        this.leader = message.from;
        if (message.type === 'append') return handleAppend(this, message);
        if (message.type === 'heartbeat') return handleHeartbeat(this, message);
        return handleSnapshotChunk(this, message);
      case 'appendResp':
      case 'heartbeatResp':
      case 'snapshotResp':
        if (this.role !== 'leader') return;
        if (!this.progress.has(message.from)) return;
        this.progress.get(message.from)!.recentActive = true;
        if (message.type === 'appendResp') return handleAppendResponse(this, message);
        if (message.type === 'heartbeatResp') return handleHeartbeatResponse(this, message);
        return handleSnapshotResponse(this, message);
    }
  }
}
