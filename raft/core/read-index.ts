// Linearizable reads by ReadIndex (thesis §6.4): (1) the leader has committed an entry of its
// term, so its commit index is at least every committed index; (2) it records that commit index
// as the read index; (3) it confirms it is still leader by a heartbeat round acknowledged by a
// quorum; (4) the application serves the read once it has applied the read index.
// Leases (§6.4.1) are not used: they rest on bounded clock drift we do not assume.
import { RaftError } from './assert.js';
import { raftReadIndexPendingMax } from './limits.js';
import { isVoter, quorumSize } from './membership.js';
import type { Raft } from './raft.js';
import { broadcastHeartbeat, sendAppend } from './replication.js';
import type { LogIndex, Message, NodeId } from './types.js';

export interface ReadRequest {
  readonly context: string;
  readonly index: LogIndex;
  readonly acks: Set<NodeId>;
}

export function requestReadIndex(raft: Raft, context: string): void {
  if (raft.role !== 'leader') throw new RaftError('NotLeader', 'readIndex needs the leader', raft.leader);
  if (raft.log.committed < raft.leaderTermStart) {
    throw new RaftError('ReadIndexNotReady', 'leader has not committed an entry of its term yet', raft.id);
  }
  if (raft.readRequests.length >= raftReadIndexPendingMax || raft.readRequests.some((r) => r.context === context)) {
    throw new RaftError('ProposalDropped', 'read queue full or context already pending', raft.id);
  }
  const request: ReadRequest = { context, index: raft.log.committed, acks: new Set([raft.id]) };
  if (quorumSize(raft.membership) <= (isVoter(raft.membership, raft.id) ? 1 : 0)) {
    raft.readStates.push({ index: request.index, context });
    return;
  }
  raft.readRequests.push(request);
  broadcastHeartbeat(raft, context);
}

export function handleHeartbeatResponse(raft: Raft, message: Extract<Message, { type: 'heartbeatResp' }>): void {
  const progress = raft.progress.get(message.from);
  if (progress) {
    progress.probeSent = false;
    // A full window whose appends were all lost would stall forever: the follower is alive, so
    // let one more append out; a gap makes it reject, which sends us back to probing.
    if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirst();
    // A follower behind our log gets entries on the heartbeat round trip.
    if (progress.match < raft.log.lastIndex()) sendAppend(raft, message.from, true);
  }
  if (message.context === null) return;
  const position = raft.readRequests.findIndex((request) => request.context === message.context);
  if (position < 0) return;
  const request = raft.readRequests[position];
  if (isVoter(raft.membership, message.from)) request.acks.add(message.from);
  let acked = 0;
  for (const id of request.acks) if (isVoter(raft.membership, id)) acked++;
  if (acked < quorumSize(raft.membership)) return;
  // The round that confirms this request also confirms every request queued before it.
  for (const released of raft.readRequests.splice(0, position + 1)) {
    raft.readStates.push({ index: released.index, context: released.context });
  }
}

export function resetReadIndex(raft: Raft): void {
  raft.readRequests = [];
}
