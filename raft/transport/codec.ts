// MessageV1: the wire form of every raft message (STYLE.md §5). Byte 0 is the format version
// (1), byte 1 the type (table below), then from u32, to u32, term u64, then the type's fields in
// declaration order. decodeMessage validates completely (STYLE.md §2): any byte string either
// yields a well-formed Message or throws TransportError; it never returns a half-checked value.
import { raftEntryBytesMax, raftLearnersMax, raftMsgEntriesMax, raftSnapshotBytesMax, raftSnapshotChunkBytesMax, raftVotersMax } from '../core/index.js';
import { logIndex, nodeId, term, type Entry, type Membership, type Message, type MessageType, type SnapshotMeta } from '../core/index.js';
import { TransportError } from './errors.js';
import { transportContextBytesMax } from './limits.js';
import { ByteReader, ByteWriter } from './wire.js';

export const messageVersionCurrent = 1;

/** Type bytes are part of the format: never renumber, only append. */
const typeCodes: readonly MessageType[] = [
  'preVote', 'vote', 'preVoteResp', 'voteResp', 'append', 'appendResp',
  'heartbeat', 'heartbeatResp', 'snapshot', 'snapshotResp', 'timeoutNow',
];

export function encodeMessage(message: Message): Uint8Array {
  const writer = new ByteWriter();
  writer.u8(messageVersionCurrent);
  writer.u8(typeCodes.indexOf(message.type));
  writer.u32(message.from);
  writer.u32(message.to);
  writer.u64(message.term);
  encodeBody(writer, message);
  return writer.finish();
}

function encodeBody(writer: ByteWriter, message: Message): void {
  switch (message.type) {
    case 'preVote': case 'vote':
      writer.u64(message.lastLogIndex); writer.u64(message.lastLogTerm); writer.u8(message.transfer ? 1 : 0);
      return;
    case 'preVoteResp': case 'voteResp':
      writer.u8(message.granted ? 1 : 0);
      return;
    case 'append':
      writer.u64(message.prevIndex); writer.u64(message.prevTerm); writer.u64(message.commit);
      writer.u32(message.entries.length);
      for (const entry of message.entries) {
        writer.u64(entry.term); writer.u64(entry.index); writer.u8(entry.type === 'config' ? 1 : 0); writer.bytes(entry.data);
      }
      return;
    case 'appendResp':
      writer.u64(message.index); writer.u8(message.reject ? 1 : 0); writer.u64(message.hintIndex); writer.u64(message.hintTerm);
      return;
    case 'heartbeat':
      writer.u64(message.commit); writer.optionalString(message.context);
      return;
    case 'heartbeatResp':
      writer.optionalString(message.context);
      return;
    case 'snapshot':
      encodeMeta(writer, message.meta); writer.u64(message.offset); writer.u64(message.totalBytes); writer.bytes(message.chunk);
      return;
    case 'snapshotResp':
      writer.u64(message.snapshotIndex); writer.u64(message.nextOffset);
      return;
    case 'timeoutNow':
      return;
  }
}

function encodeMeta(writer: ByteWriter, meta: SnapshotMeta): void {
  writer.u64(meta.index);
  writer.u64(meta.term);
  writer.u32(meta.membership.voters.length);
  for (const id of meta.membership.voters) writer.u32(id);
  writer.u32(meta.membership.learners.length);
  for (const id of meta.membership.learners) writer.u32(id);
}

export function decodeMessage(bytes: Uint8Array): Message {
  const reader = new ByteReader(bytes);
  const version = reader.u8('version');
  if (version !== messageVersionCurrent) throw new TransportError('UnknownVersion', `message version ${version}`);
  const code = reader.u8('type');
  const type = typeCodes[code];
  if (type === undefined) throw new TransportError('UnknownType', `type byte ${code}`);
  const envelope = { from: readNodeId(reader, 'from'), to: readNodeId(reader, 'to'), term: term(reader.u64('term')) };
  const message = decodeBody(reader, type, envelope);
  reader.end();
  return message;
}

type Envelope = Pick<Message, 'from' | 'to' | 'term'>;

function decodeBody(reader: ByteReader, type: MessageType, envelope: Envelope): Message {
  switch (type) {
    case 'preVote': case 'vote':
      return { ...envelope, type, lastLogIndex: logIndex(reader.u64('lastLogIndex')), lastLogTerm: term(reader.u64('lastLogTerm')), transfer: reader.boolean('transfer') };
    case 'preVoteResp': case 'voteResp':
      return { ...envelope, type, granted: reader.boolean('granted') };
    case 'append': {
      const prevIndex = logIndex(reader.u64('prevIndex'));
      const prevTerm = term(reader.u64('prevTerm'));
      const commit = logIndex(reader.u64('commit'));
      return { ...envelope, type, prevIndex, prevTerm, commit, entries: decodeEntries(reader, prevIndex) };
    }
    case 'appendResp':
      return {
        ...envelope, type, index: logIndex(reader.u64('index')), reject: reader.boolean('reject'),
        hintIndex: logIndex(reader.u64('hintIndex')), hintTerm: term(reader.u64('hintTerm')),
      };
    case 'heartbeat':
      return { ...envelope, type, commit: logIndex(reader.u64('commit')), context: reader.optionalString('context', transportContextBytesMax) };
    case 'heartbeatResp':
      return { ...envelope, type, context: reader.optionalString('context', transportContextBytesMax) };
    case 'snapshot':
      return decodeSnapshot(reader, envelope);
    case 'snapshotResp':
      return { ...envelope, type, snapshotIndex: logIndex(reader.u64('snapshotIndex')), nextOffset: reader.u64('nextOffset') };
    case 'timeoutNow':
      return { ...envelope, type };
  }
}

function decodeEntries(reader: ByteReader, prevIndex: number): Entry[] {
  const count = reader.u32('entry count');
  if (count > raftMsgEntriesMax) throw new TransportError('InvalidField', `${count} entries > ${raftMsgEntriesMax}`);
  const entries: Entry[] = [];
  for (let k = 0; k < count; k++) {
    const entryTerm = term(reader.u64('entry term'));
    const index = logIndex(reader.u64('entry index'));
    // Raft paper §5.3: an append carries consecutive entries right after prevIndex.
    if (index !== prevIndex + 1 + k) throw new TransportError('InvalidField', `entry index ${index} after ${prevIndex} + ${k}`);
    const typeByte = reader.u8('entry type');
    if (typeByte > 1) throw new TransportError('InvalidField', `entry type ${typeByte}`);
    entries.push({ term: entryTerm, index, type: typeByte === 1 ? 'config' : 'normal', data: reader.bytes('entry data', raftEntryBytesMax) });
  }
  return entries;
}

function decodeSnapshot(reader: ByteReader, envelope: Envelope): Message {
  const index = logIndex(reader.u64('snapshot index'));
  const snapshotTerm = term(reader.u64('snapshot term'));
  const membership: Membership = { voters: readIds(reader, 'voters', raftVotersMax), learners: readIds(reader, 'learners', raftLearnersMax) };
  const offset = reader.u64('offset');
  const totalBytes = reader.u64('totalBytes');
  if (totalBytes > raftSnapshotBytesMax) throw new TransportError('InvalidField', `snapshot of ${totalBytes} bytes`);
  const chunk = reader.bytes('chunk', raftSnapshotChunkBytesMax);
  if (offset + chunk.length > totalBytes) throw new TransportError('InvalidField', `chunk ends at ${offset + chunk.length} > ${totalBytes}`);
  return { ...envelope, type: 'snapshot', meta: { index, term: snapshotTerm, membership }, offset, totalBytes, chunk };
}

function readIds(reader: ByteReader, what: string, max: number): ReturnType<typeof nodeId>[] {
  const count = reader.u32(`${what} count`);
  if (count > max) throw new TransportError('InvalidField', `${count} ${what} > ${max}`);
  const ids = [];
  for (let k = 0; k < count; k++) ids.push(readNodeId(reader, what));
  return ids;
}

function readNodeId(reader: ByteReader, what: string): ReturnType<typeof nodeId> {
  const id = reader.u32(what);
  // Node ids are >= 1: storage encodes "no vote" as 0 (raft/storage/README.md).
  if (id === 0) throw new TransportError('InvalidField', `${what} node id 0`);
  return nodeId(id);
}
