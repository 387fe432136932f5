// Cluster membership: single-server changes (Raft thesis §4.1). A config entry carries the whole
// new membership, encoded as MembershipV1 (STYLE.md §5), and takes effect on every node as soon
// as it is appended, committed or not (thesis §4.1: "a server always uses the latest
// configuration in its log"). A truncated config entry therefore reverts the membership.
import { assert, RaftError } from './assert.js';
import { raftLearnersMax, raftVotersMax } from './limits.js';
import type { Membership, NodeId } from './types.js';

/** The persisted form. Version 1 is the only version; decoding rejects any other. */
interface MembershipV1 {
  readonly version: 1;
  readonly voters: number[];
  readonly learners: number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMembership(membership: Membership): Uint8Array {
  const persisted: MembershipV1 = {
    version: 1,
    voters: [...membership.voters],
    learners: [...membership.learners],
  };
  return encoder.encode(JSON.stringify(persisted));
}

export function decodeMembership(bytes: Uint8Array): Membership {
  const value = JSON.parse(decoder.decode(bytes)) as MembershipV1;
  assert(value.version === 1, `membership version ${String(value.version)} unknown`);
  assert(Array.isArray(value.voters) && Array.isArray(value.learners), 'membership shape');
  return normalize({ voters: value.voters as NodeId[], learners: value.learners as NodeId[] });
}

export function normalize(membership: Membership): Membership {
  const voters = [...new Set(membership.voters)].sort((a, b) => a - b);
  const learners = [...new Set(membership.learners)]
    .filter((id) => !voters.includes(id))
    .sort((a, b) => a - b);
  assert(voters.length <= raftVotersMax, `voters ${voters.length} > ${raftVotersMax}`);
  assert(learners.length <= raftLearnersMax, `learners ${learners.length} > ${raftLearnersMax}`);
  return { voters, learners };
}

export const emptyMembership: Membership = { voters: [], learners: [] };

export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id);
}

export function isMember(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id) || membership.learners.includes(id);
}

export function quorumSize(membership: Membership): number {
  return Math.floor(membership.voters.length / 2) + 1;
}

/** The highest index a quorum of voters has reached: sort descending, take the quorum-th. */
export function quorumIndex(membership: Membership, matchOf: (id: NodeId) => number): number {
  if (membership.voters.length === 0) return 0;
  const matches = membership.voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(membership) - 1];
}

export type MembershipChange =
  | { readonly type: 'addVoter'; readonly node: NodeId }
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'remove'; readonly node: NodeId };

/**
 * Applies one change. The result differs from `current` in at most one voter, which is what makes
 * any majority of the old and any majority of the new configuration overlap (thesis §4.1).
 */
export function applyChange(current: Membership, change: MembershipChange): Membership {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== change.node);
  let next: Membership;
  if (change.type === 'addVoter') {
    next = { voters: [...current.voters, change.node], learners: without(current.learners) };
  } else if (change.type === 'addLearner') {
    if (isVoter(current, change.node)) {
      throw new RaftError('InvalidConfigChange', `node ${change.node} is a voter; remove it first`);
    }
    next = { voters: current.voters, learners: [...current.learners, change.node] };
  } else {
    next = { voters: without(current.voters), learners: without(current.learners) };
  }
  next = normalize(next);
  if (next.voters.length === 0) {
    throw new RaftError('InvalidConfigChange', 'cannot remove the last voter');
  }
  if (next.voters.length > raftVotersMax || next.learners.length > raftLearnersMax) {
    throw new RaftError('InvalidConfigChange', 'membership exceeds its limits');
  }
  const changed = symmetricDifference(current.voters, next.voters);
  assert(changed <= 1, `single-server change altered ${changed} voters`);
  return next;
}

function symmetricDifference(left: readonly NodeId[], right: readonly NodeId[]): number {
  return (
    left.filter((id) => !right.includes(id)).length + right.filter((id) => !left.includes(id)).length
  );
}

export function sameMembership(left: Membership, right: Membership): boolean {
  return (
    left.voters.join(',') === right.voters.join(',') && left.learners.join(',') === right.learners.join(',')
  );
}
