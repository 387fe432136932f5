// Leader election (Raft paper §5.2, thesis §3.4) with pre-vote (thesis §9.6) and leadership
// transfer by TimeoutNow (thesis §3.10).
import type { Raft } from './raft.js';
import { isVoter, quorumSize } from './membership.js';
import type { Message } from './types.js';
import { term as toTerm } from './types.js';

export type CampaignKind = 'preVote' | 'vote' | 'transfer';

export function campaign(raft: Raft, kind: CampaignKind): void {
  if (!raft.isPromotable() || raft.role === 'leader') return;
  if (kind === 'preVote') raft.becomePreCandidate();
  else raft.becomeCandidate();
  const pre = kind === 'preVote';
  // Pre-vote asks "would you vote for me in the next term?" without moving to it.
  const voteTerm = pre ? toTerm(raft.term + 1) : raft.term;
  raft.votes.set(raft.id, true);
  if (tally(raft).granted >= quorumSize(raft.membership)) return wonRound(raft, pre);
  for (const to of raft.membership.voters) {
    if (to === raft.id) continue;
    raft.send({
      type: pre ? 'preVote' : 'vote',
      from: raft.id,
      to,
      term: voteTerm,
      lastLogIndex: raft.log.lastIndex(),
      lastLogTerm: raft.log.lastTerm(),
      transfer: kind === 'transfer',
    });
  }
}

function wonRound(raft: Raft, pre: boolean): void {
  if (pre) campaign(raft, 'vote');
  else raft.becomeLeader();
}

function tally(raft: Raft): { granted: number; rejected: number } {
  let granted = 0;
  let rejected = 0;
  for (const [id, vote] of raft.votes) {
    if (!isVoter(raft.membership, id)) continue;
    if (vote) granted++;
    else rejected++;
  }
  return { granted, rejected };
}

/** RequestVote receiver (Raft paper Figure 2), shared by pre-vote. */
export function handleVote(raft: Raft, message: Extract<Message, { type: 'preVote' | 'vote' }>): void {
  const pre = message.type === 'preVote';
  const canVote =
    raft.vote === message.from ||
    (raft.vote === null && raft.leader === null) ||
    // A pre-vote for a future term: we have not voted there, and granting changes nothing here.
    (pre && message.term > raft.term);
  const granted = canVote && raft.log.isUpToDate(message.lastLogIndex, message.lastLogTerm);
  raft.send({
    type: pre ? 'preVoteResp' : 'voteResp',
    from: raft.id,
    to: message.from,
    // A granted pre-vote answers in the asked term so the pre-candidate can count it.
    term: granted ? message.term : raft.term,
    granted,
  });
  if (granted && !pre) {
    raft.electionElapsed = 0;
    raft.vote = message.from;
  }
}

export function handleVoteResponse(raft: Raft, message: Extract<Message, { type: 'preVoteResp' | 'voteResp' }>): void {
  const expected = raft.role === 'preCandidate' ? 'preVoteResp' : raft.role === 'candidate' ? 'voteResp' : null;
  if (message.type !== expected) return;
  if (!raft.votes.has(message.from)) raft.votes.set(message.from, message.granted);
  const { granted, rejected } = tally(raft);
  const quorum = quorumSize(raft.membership);
  if (granted >= quorum) wonRound(raft, message.type === 'preVoteResp');
  else if (rejected >= quorum) raft.becomeFollower(raft.term, null);
}

/** Thesis §3.10: the target starts an election at once, skipping pre-vote and leases. */
export function handleTimeoutNow(raft: Raft, message: Extract<Message, { type: 'timeoutNow' }>): void {
  if (message.from !== raft.leader) return;
  campaign(raft, 'transfer');
}
