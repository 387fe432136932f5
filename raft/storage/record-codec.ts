// The durable log's on-disk records (STYLE.md §5: persisted formats are their own types).
// Frame: [payload length u32 LE][crc32 of payload u32 LE][payload]. Payload byte 0 is the record
// kind, byte 1 the format version (1). A frame that is short, oversized or fails its CRC ends the
// readable log: everything from it on is a torn tail, truncated on open, never replayed.
import { crc32 } from 'node:zlib';
import { assert, type Entry, type HardState, logIndex, nodeId, term } from '../core/index.js';
import { raftEntryBytesMax } from '../core/index.js';

export const frameHeaderBytes = 8;
/** A frame longer than this cannot be ours: an entry plus its fixed fields. */
export const recordBytesMax = raftEntryBytesMax + 64;

const kindEntry = 1;
const kindHardState = 2;
const versionCurrent = 1;

/** EntryRecordV1: kind, version, entry type (0 normal, 1 config), term u64, index u64, data. */
export interface EntryRecordV1 { readonly kind: 'entry'; readonly entry: Entry }
/** HardStateRecordV1: kind, version, term u64, vote u64 (0 = none), commit u64. */
export interface HardStateRecordV1 { readonly kind: 'hardState'; readonly hardState: HardState }
export type RecordV1 = EntryRecordV1 | HardStateRecordV1;

export function encodeRecord(record: RecordV1): Uint8Array {
  const dataBytes = record.kind === 'entry' ? record.entry.data.length : 0;
  const payloadBytes = record.kind === 'entry' ? 19 + dataBytes : 26;
  const frame = new Uint8Array(frameHeaderBytes + payloadBytes);
  const view = new DataView(frame.buffer);
  const payload = frame.subarray(frameHeaderBytes);
  view.setUint32(0, payloadBytes, true);
  payload[1] = versionCurrent;
  if (record.kind === 'entry') {
    payload[0] = kindEntry;
    payload[2] = record.entry.type === 'config' ? 1 : 0;
    view.setBigUint64(frameHeaderBytes + 3, BigInt(record.entry.term), true);
    view.setBigUint64(frameHeaderBytes + 11, BigInt(record.entry.index), true);
    payload.set(record.entry.data, 19);
  } else {
    payload[0] = kindHardState;
    view.setBigUint64(frameHeaderBytes + 2, BigInt(record.hardState.term), true);
    view.setBigUint64(frameHeaderBytes + 10, BigInt(record.hardState.vote ?? 0), true);
    view.setBigUint64(frameHeaderBytes + 18, BigInt(record.hardState.commit), true);
  }
  view.setUint32(4, crc32(payload), true);
  return frame;
}

/** Decodes the frame at `offset`; null when the bytes there are not a whole, valid frame. */
export function decodeRecord(bytes: Uint8Array, offset: number): { record: RecordV1; next: number } | null {
  if (offset + frameHeaderBytes > bytes.length) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset, true);
  if (length < 2 || length > recordBytesMax || offset + frameHeaderBytes + length > bytes.length) return null;
  const payload = bytes.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length);
  if (crc32(payload) !== view.getUint32(offset + 4, true)) return null;
  assert(payload[1] === versionCurrent, `log record version ${payload[1]} unknown`);
  const at = offset + frameHeaderBytes;
  const u64 = (position: number) => Number(view.getBigUint64(at + position, true));
  const next = offset + frameHeaderBytes + length;
  if (payload[0] === kindEntry && length >= 19) {
    const entry: Entry = {
      type: payload[2] === 1 ? 'config' : 'normal', term: term(u64(3)), index: logIndex(u64(11)),
      data: Uint8Array.from(payload.subarray(19)),
    };
    return { record: { kind: 'entry', entry }, next };
  }
  if (payload[0] === kindHardState && length === 26) {
    const vote = u64(10);
    const hardState: HardState = { term: term(u64(2)), vote: vote === 0 ? null : nodeId(vote), commit: logIndex(u64(18)) };
    return { record: { kind: 'hardState', hardState }, next };
  }
  assert(false, `log record kind ${payload[0]} with ${length} bytes passed its CRC`);
}
