// Log replication (Raft paper §5.3, thesis §3.5) with batching (many entries per append),
// pipelining (replicate state sends ahead without waiting) and flow control (inflight window,
// thesis §10.2.2). Heartbeats carry commit = min(match, committed) so a follower never commits
// past what the leader knows it holds.
import { assert } from './assert.js';
import { raftMsgBytesMax, raftMsgEntriesMax } from './limits.js';
import type { Raft } from './raft.js';
import { sendSnapshot } from './snapshot-transfer.js';
import type { Message, NodeId } from './types.js';
import { logIndex, term as toTerm } from './types.js';

/** Sends one append to `to` if its progress allows. Returns whether something was sent. */
export function sendAppend(raft: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const progress = raft.progress.get(to);
  if (!progress || progress.isPaused()) return false;
  const prevIndex = logIndex(progress.next - 1);
  const prevTerm = raft.log.term(prevIndex);
  if (prevTerm === null) {
    // The entries this follower needs are compacted away: InstallSnapshot (Raft paper §7).
    sendSnapshot(raft, to, progress);
    return true;
  }
  const last = raft.log.lastIndex();
  const entries = progress.next <= last ? raft.log.slice(progress.next, last + 1, raftMsgEntriesMax, raftMsgBytesMax) : [];
  if (entries.length === 0 && !sendIfEmpty) return false;
  raft.send({ type: 'append', from: raft.id, to, term: raft.term, prevIndex, prevTerm, entries, commit: raft.log.committed });
  progress.sentAppend(entries.length, logIndex(prevIndex + entries.length));
  return true;
}

export function broadcastAppend(raft: Raft): void {
  for (const id of raft.progress.keys()) if (id !== raft.id) sendAppend(raft, id, true);
}

export function broadcastHeartbeat(raft: Raft, context: string | null): void {
  for (const [id, progress] of raft.progress) {
    if (id === raft.id) continue;
    const commit = logIndex(Math.min(progress.match, raft.log.committed));
    raft.send({ type: 'heartbeat', from: raft.id, to: id, term: raft.term, commit, context });
  }
}

/** AppendEntries receiver (Raft paper Figure 2). */
export function handleAppend(raft: Raft, message: Extract<Message, { type: 'append' }>): void {
  const respond = (index: number, reject: boolean, hintIndex: number, hintTerm: number) =>
    raft.send({
      type: 'appendResp', from: raft.id, to: message.from, term: raft.term,
      index: logIndex(index), reject, hintIndex: logIndex(hintIndex), hintTerm: toTerm(hintTerm),
    });
  if (message.prevIndex < raft.log.committed) {
    // Everything up to our commit is settled; tell the leader where we stand.
    return respond(raft.log.committed, false, 0, 0);
  }
  const truncationsBefore = raft.log.truncations;
  const lastNew = raft.log.maybeAppend(message.prevIndex, message.prevTerm, message.entries);
  if (lastNew === null) {
    // Thesis §5.4.1 optimisation: point the leader at the last index whose term could match.
    const hintIndex = raft.log.findConflictByTerm(logIndex(Math.min(message.prevIndex, raft.log.lastIndex())), message.prevTerm);
    return respond(message.prevIndex, true, hintIndex, raft.log.term(hintIndex) ?? 0);
  }
  // Membership follows the log (thesis §4.1): a replaced tail may have removed a config entry.
  if (raft.log.truncations !== truncationsBefore || message.entries.some((entry) => entry.type === 'config')) {
    raft.recomputeMembership();
  }
  raft.log.commitTo(logIndex(Math.min(message.commit, lastNew)));
  respond(lastNew, false, 0, 0);
}

export function handleHeartbeat(raft: Raft, message: Extract<Message, { type: 'heartbeat' }>): void {
  assert(message.commit <= raft.log.lastIndex(), `heartbeat commit ${message.commit} beyond our log`);
  raft.log.commitTo(message.commit);
  raft.send({ type: 'heartbeatResp', from: raft.id, to: message.from, term: raft.term, context: message.context });
}

export function handleAppendResponse(raft: Raft, message: Extract<Message, { type: 'appendResp' }>): void {
  const progress = raft.progress.get(message.from);
  if (!progress) return;
  if (message.reject) {
    // Back up to the follower's hint, mapped onto our log (find the last index whose term the
    // follower could share), never below match.
    const nextHint = logIndex(raft.log.findConflictByTerm(message.hintIndex, message.hintTerm) + 1);
    if (progress.maybeDecrease(message.index, nextHint)) {
      if (progress.state === 'replicate') progress.becomeProbe();
      sendAppend(raft, message.from, true);
    }
    return;
  }
  const wasPaused = progress.isPaused();
  if (!progress.maybeUpdate(message.index)) {
    if (wasPaused && progress.state === 'replicate') progress.inflights.freeLE(message.index);
    return;
  }
  if (progress.state === 'probe') progress.becomeReplicate();
  else if (progress.state === 'snapshot' && progress.match >= progress.pendingSnapshot) progress.becomeProbe();
  else if (progress.state === 'replicate') progress.inflights.freeLE(message.index);
  if (raft.maybeCommit()) {
    if (raft.role !== 'leader') return;
    broadcastAppend(raft);
  } else if (wasPaused) {
    // It may have missed commit updates while paused; one (possibly empty) append tells it.
    sendAppend(raft, message.from, true);
  }
  while (sendAppend(raft, message.from, false)) {
    // Pipelining: fill the window while entries remain.
  }
  if (message.from === raft.transferTarget && progress.match === raft.log.lastIndex()) {
    raft.send({ type: 'timeoutNow', from: raft.id, to: message.from, term: raft.term });
  }
}

/** Called after the leader's own entries are durable: it counts toward the quorum only then. */
export function leaderPersisted(raft: Raft): void {
  const self = raft.progress.get(raft.id);
  if (raft.role !== 'leader' || !self) return;
  if (self.maybeUpdate(raft.log.stableIndex) && raft.maybeCommit() && raft.role === 'leader') broadcastAppend(raft);
}
