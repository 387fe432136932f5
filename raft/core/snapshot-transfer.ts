// InstallSnapshot streamed in chunks (Raft paper §7, thesis §5.3), stop-and-wait: the follower
// acknowledges the contiguous bytes it holds and the leader sends the chunk at that offset.
// Lost chunks or acknowledgements are recovered by a resend every heartbeat interval without
// progress; a transfer stalled for raftSnapshotStallTicksMax restarts through probe.
import { assert } from './assert.js';
import { raftSnapshotBytesMax, raftSnapshotStallTicksMax } from './limits.js';
import type { Progress } from './progress.js';
import type { Raft } from './raft.js';
import { sendAppend } from './replication.js';
import type { Message, NodeId, Snapshot } from './types.js';
import { logIndex, term as toTerm } from './types.js';

/** Follower-side reassembly buffer; dropped on restart (a restart starts the transfer over). */
export interface SnapshotReceive {
  readonly index: number;
  readonly term: number;
  readonly parts: Uint8Array[];
  length: number;
}

export function sendSnapshot(raft: Raft, to: NodeId, progress: Progress): void {
  const snapshot = raft.log.snapshot;
  assert(snapshot !== null, `follower ${to} needs a snapshot and we hold none`);
  progress.becomeSnapshot(snapshot.meta.index);
  sendChunk(raft, to, snapshot, 0);
}

function sendChunk(raft: Raft, to: NodeId, snapshot: Snapshot, offset: number): void {
  const chunk = snapshot.data.subarray(offset, offset + raft.snapshotChunkBytes);
  raft.send({
    type: 'snapshot', from: raft.id, to, term: raft.term,
    meta: snapshot.meta, offset, totalBytes: snapshot.data.length, chunk,
  });
}

export function snapshotTick(raft: Raft): void {
  for (const [id, progress] of raft.progress) {
    if (progress.state !== 'snapshot') continue;
    progress.snapshotStallTicks++;
    const snapshot = raft.log.snapshot;
    if (progress.snapshotStallTicks >= raftSnapshotStallTicksMax || snapshot?.meta.index !== progress.pendingSnapshot) {
      progress.becomeProbe();
    } else if (progress.snapshotStallTicks % (2 * raft.heartbeatTicks) === 0) {
      sendChunk(raft, id, snapshot, progress.snapshotOffset);
    }
  }
}

export function handleSnapshotResponse(raft: Raft, message: Extract<Message, { type: 'snapshotResp' }>): void {
  const progress = raft.progress.get(message.from);
  if (!progress || progress.state !== 'snapshot' || message.snapshotIndex !== progress.pendingSnapshot) return;
  const snapshot = raft.log.snapshot;
  if (snapshot === null || snapshot.meta.index !== progress.pendingSnapshot) {
    // We compacted again since; start over with the newer snapshot.
    progress.becomeProbe();
    sendAppend(raft, message.from, true);
    return;
  }
  if (message.nextOffset === progress.snapshotOffset) return; // a duplicate acknowledgement
  progress.snapshotOffset = message.nextOffset;
  progress.snapshotStallTicks = 0;
  if (message.nextOffset < snapshot.data.length) sendChunk(raft, message.from, snapshot, message.nextOffset);
}

export function handleSnapshotChunk(raft: Raft, message: Extract<Message, { type: 'snapshot' }>): void {
  const meta = message.meta;
  assert(message.totalBytes <= raftSnapshotBytesMax, `snapshot of ${message.totalBytes} bytes`);
  if (meta.index <= raft.log.committed) {
    raft.snapshotReceive = null;
    return respondAppend(raft, message.from);
  }
  let receive = raft.snapshotReceive;
  if (message.offset === 0) {
    receive = { index: meta.index, term: meta.term, parts: [], length: 0 };
    raft.snapshotReceive = receive;
  }
  const matches = receive !== null && receive.index === meta.index && receive.term === meta.term;
  if (matches && message.offset === receive!.length) {
    receive!.parts.push(message.chunk);
    receive!.length += message.chunk.length;
  }
  const nextOffset = matches ? receive!.length : 0;
  raft.send({ type: 'snapshotResp', from: raft.id, to: message.from, term: raft.term, snapshotIndex: meta.index, nextOffset });
  if (!matches || receive!.length !== message.totalBytes) return;
  raft.snapshotReceive = null;
  restoreSnapshot(raft, { meta, data: concat(receive!.parts, receive!.length) });
  respondAppend(raft, message.from);
}

function respondAppend(raft: Raft, to: NodeId): void {
  raft.send({
    type: 'appendResp', from: raft.id, to, term: raft.term, index: raft.log.committed,
    reject: false, hintIndex: logIndex(0), hintTerm: toTerm(0),
  });
}

/** InstallSnapshot receiver rules 6–8: keep a matching log, else replace it. */
function restoreSnapshot(raft: Raft, snapshot: Snapshot): void {
  if (raft.log.matchTerm(snapshot.meta.index, snapshot.meta.term)) {
    raft.log.commitTo(snapshot.meta.index);
    return;
  }
  raft.log.restore(snapshot);
  raft.recomputeMembership();
  assert(raft.log.committed === snapshot.meta.index, 'restore sets commit to the snapshot');
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const data = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return data;
}
