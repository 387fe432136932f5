// The values the core speaks in. Branded numbers keep terms, indexes and node ids from mixing
// (STYLE.md §13): a LogIndex passed where a Term is expected is a compile error.

export type Term = number & { readonly __brand: 'Term' };
export type LogIndex = number & { readonly __brand: 'LogIndex' };
export type NodeId = number & { readonly __brand: 'NodeId' };

export const term = (value: number): Term => value as Term;
export const logIndex = (value: number): LogIndex => value as LogIndex;
export const nodeId = (value: number): NodeId => value as NodeId;

/** `config` entries carry an encoded ConfigV1 and take effect when appended (thesis §4.1). */
export type EntryType = 'normal' | 'config';

/** A log entry. `data` is owned by the log once proposed; nobody mutates it afterwards. */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The state Raft must persist before answering any message (Raft paper Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

/** Voters count toward quorums; learners only receive the log (thesis §4.2.1). */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly membership: Membership;
}

/** A state-machine image covering every entry up to meta.index (thesis §5.1). */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** A confirmed read point: once applied >= index, a read tagged `context` is linearizable. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: string;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

export type Message =
  | (Envelope & {
      readonly type: 'preVote' | 'vote';
      readonly lastLogIndex: LogIndex;
      readonly lastLogTerm: Term;
      /** Set by a TimeoutNow campaign: receivers skip the leader-lease check (thesis §3.10). */
      readonly transfer: boolean;
    })
  | (Envelope & { readonly type: 'preVoteResp' | 'voteResp'; readonly granted: boolean })
  | (Envelope & {
      readonly type: 'append';
      readonly prevIndex: LogIndex;
      readonly prevTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: LogIndex;
    })
  | (Envelope & {
      readonly type: 'appendResp';
      readonly index: LogIndex;
      readonly reject: boolean;
      /** On reject: the follower's best guess of a matching point (index, term). */
      readonly hintIndex: LogIndex;
      readonly hintTerm: Term;
    })
  | (Envelope & { readonly type: 'heartbeat'; readonly commit: LogIndex; readonly context: string | null })
  | (Envelope & { readonly type: 'heartbeatResp'; readonly context: string | null })
  | (Envelope & {
      readonly type: 'snapshot';
      readonly meta: SnapshotMeta;
      readonly offset: number;
      readonly totalBytes: number;
      readonly chunk: Uint8Array;
    })
  | (Envelope & {
      readonly type: 'snapshotResp';
      readonly snapshotIndex: LogIndex;
      /** Bytes of the snapshot the follower holds contiguously; the leader sends from here. */
      readonly nextOffset: number;
    })
  | (Envelope & { readonly type: 'timeoutNow' });

export type MessageType = Message['type'];

/** The one source of randomness the core may use, passed in and seeded by the caller. */
export interface RandomSource {
  /** Uniform integer in [0, bound). */
  nextBelow(bound: number): number;
}
