// raft/ imports nothing of ours (ARCHITECTURE.md), so it carries its own two kinds of failure
// (STYLE.md §6): RaftError for expected operating errors (not leader, busy, too large) and
// RaftAssertionError for broken invariants, which stop the node (a restart recovers from disk)
// and fail the seed in a simulation.

export type RaftErrorCode =
  | 'NotLeader' // the call needs the leader; `leader` in the error hints at who it is
  | 'ProposalDropped' // leader busy: transfer in progress, or the proposal queue is full
  | 'ConfigChangePending' // one single-server change at a time (Raft thesis §4.1)
  | 'InvalidConfigChange' // the change would alter more than one voter or remove the last one
  | 'ReadIndexNotReady' // leader has not yet committed an entry of its term (thesis §6.4 step 1)
  | 'EntryTooLarge' // a proposal bigger than entryBytesMax
  | 'Compacted' // a requested index is at or below the snapshot
  | 'Unavailable'; // a requested index is beyond the last index

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly leader: number | null;
  constructor(code: RaftErrorCode, message: string, leader: number | null = null) {
    super(`${code}: ${message}`);
    this.name = 'RaftError';
    this.code = code;
    this.leader = leader;
  }
}

export class RaftAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftAssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new RaftAssertionError(message);
}

export function isRaftError(error: unknown, code: RaftErrorCode): error is RaftError {
  return error instanceof RaftError && error.code === code;
}
