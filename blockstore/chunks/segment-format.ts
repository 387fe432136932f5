// Persisted formats of the chunk store (STYLE.md §5): the segment file header, the record header,
// and the two index values kept in the MetaStore. Each has a versioned type and an encode/decode pair;
// decoders return undefined for bytes that are no valid value of a version they read, never throw.
//
// Segment file:  SegmentHeaderV1 (16 B) then records, append-only.
// Record:        RecordHeader (44 B) ‖ ciphertext ‖ crc32 (4 B, LE).
//   version 2 (written now): the crc32 covers the header alone; version 1 (still read): header ‖
//   ciphertext. The ciphertext is covered by its id (sha256), which every path that trusts stored
//   bytes checks (recovery, scrub, GC's copy) or replaces by the AEAD tag (GET, volume reads), so
//   the record checksum only has to catch damage to the header fields (magic, length, id) and a
//   torn header at the tail; recovery checks the id before it re-indexes a record either way.
//   A crc32 over the ciphertext as well was ~3 % of a PUT's CPU (node:zlib runs ~1.7 GB/s here).
import { crc32 } from 'node:zlib';
import { chunkIdBytes, type ChunkId } from './chunk-id.js';

const segmentMagic = Buffer.from('CAIRNSEG', 'ascii');
const recordMagic = 0x4b4e4843; // "CHNK" little-endian
export const segmentHeaderBytes = 16;
export const recordHeaderBytes = 44;
export const recordTrailerBytes = 4;

export function recordBytesOf(ciphertextBytes: number): number {
  return recordHeaderBytes + ciphertextBytes + recordTrailerBytes;
}

export interface SegmentHeaderV1 {
  version: 1;
  segmentNumber: number;
}

export function encodeSegmentHeaderV1(header: SegmentHeaderV1): Buffer {
  const buffer = Buffer.alloc(segmentHeaderBytes);
  segmentMagic.copy(buffer, 0);
  buffer.writeUInt16LE(header.version, 8);
  buffer.writeUInt16LE(segmentHeaderBytes, 10);
  buffer.writeUInt32LE(header.segmentNumber, 12);
  return buffer;
}

export function decodeSegmentHeaderV1(buffer: Buffer): SegmentHeaderV1 | undefined {
  if (buffer.length < segmentHeaderBytes) return undefined;
  if (!buffer.subarray(0, 8).equals(segmentMagic)) return undefined;
  if (buffer.readUInt16LE(8) !== 1 || buffer.readUInt16LE(10) !== segmentHeaderBytes) return undefined;
  return { version: 1, segmentNumber: buffer.readUInt32LE(12) };
}

/** Record versions: 2 is written; 1 (checksum over header and ciphertext) is still read. */
export type RecordVersion = 1 | 2;
const recordVersionWritten: RecordVersion = 2;

export interface RecordHeader {
  version: RecordVersion;
  ciphertextBytes: number;
  id: ChunkId;
}

export const recordFramingBytes = recordHeaderBytes + recordTrailerBytes;

/** Header and trailer of one record; the ciphertext goes between them without being copied. */
export function encodeRecordFraming(id: ChunkId, ciphertext: Uint8Array): { header: Buffer; trailer: Buffer } {
  return encodeRecordFramingInto(id, ciphertext.length, Buffer.allocUnsafe(recordFramingBytes), 0);
}

/**
 * encodeRecordFraming into framing[at, at + recordFramingBytes), header then trailer: the
 * writer encodes a whole group into one buffer (two small allocations per chunk fewer).
 */
export function encodeRecordFramingInto(id: ChunkId, ciphertextBytes: number, framing: Buffer, at: number): { header: Buffer; trailer: Buffer } {
  const header = framing.subarray(at, at + recordHeaderBytes);
  const trailer = framing.subarray(at + recordHeaderBytes, at + recordFramingBytes);
  header.writeUInt32LE(recordMagic, 0);
  header.writeUInt32LE(recordVersionWritten, 4); // the version in byte 4; bytes 5..7 reserved, zero
  header.writeUInt32LE(ciphertextBytes, 8);
  header.write(id, 12, chunkIdBytes, 'hex');
  trailer.writeUInt32LE(crc32(header) >>> 0, 0);
  return { header, trailer };
}

export function decodeRecordHeader(buffer: Buffer, offset = 0): RecordHeader | undefined {
  if (buffer.length - offset < recordHeaderBytes) return undefined;
  const version = buffer.readUInt8(offset + 4);
  if (buffer.readUInt32LE(offset) !== recordMagic || (version !== 1 && version !== 2)) return undefined;
  if (buffer.readUInt8(offset + 5) !== 0 || buffer.readUInt16LE(offset + 6) !== 0) return undefined;
  const ciphertextBytes = buffer.readUInt32LE(offset + 8);
  const id = buffer.toString('hex', offset + 12, offset + 12 + chunkIdBytes) as ChunkId;
  return { version, ciphertextBytes, id };
}

/** Whether a whole record's trailer matches what its version's checksum covers. */
export function recordChecksumValid(record: Buffer): boolean {
  const bodyBytes = record.length - recordTrailerBytes;
  const header = decodeRecordHeader(record);
  if (bodyBytes < recordHeaderBytes || header === undefined) return false;
  const covered = header.version === 1 ? record.subarray(0, bodyBytes) : record.subarray(0, recordHeaderBytes);
  return (crc32(covered) >>> 0) === record.readUInt32LE(bodyBytes);
}

/** Value of index key 'c/<id>': where the chunk lives and how many references it has. */
export interface ChunkEntryV1 {
  version: 1;
  segmentNumber: number;
  /** Byte offset of the record (its header) within the segment file. */
  offset: number;
  ciphertextBytes: number;
  refCount: number;
}

const chunkEntryBytes = 21;

export function encodeChunkEntryV1(entry: ChunkEntryV1): Buffer {
  // Every byte is written below; allocUnsafe slices node's shared pool instead of giving each of a
  // large commit's (tens of thousands of) entries its own ArrayBuffer.
  const buffer = Buffer.allocUnsafe(chunkEntryBytes);
  buffer.writeUInt8(entry.version, 0);
  buffer.writeUInt32LE(entry.segmentNumber, 1);
  buffer.writeUIntLE(entry.offset, 5, 6);
  buffer.writeUInt32LE(entry.ciphertextBytes, 11);
  buffer.writeUIntLE(entry.refCount, 15, 6);
  return buffer;
}

export function decodeChunkEntryV1(buffer: Buffer): ChunkEntryV1 | undefined {
  if (buffer.length !== chunkEntryBytes || buffer.readUInt8(0) !== 1) return undefined;
  return {
    version: 1,
    segmentNumber: buffer.readUInt32LE(1),
    offset: buffer.readUIntLE(5, 6),
    ciphertextBytes: buffer.readUInt32LE(11),
    refCount: buffer.readUIntLE(15, 6),
  };
}

/** Value of 'cs/tail': end of the last group commit. Records after it are recovered on open. */
export interface TailMarkerV1 {
  version: 1;
  segmentNumber: number;
  offset: number;
}

export function encodeTailMarkerV1(marker: TailMarkerV1): Buffer {
  const buffer = Buffer.alloc(11);
  buffer.writeUInt8(marker.version, 0);
  buffer.writeUInt32LE(marker.segmentNumber, 1);
  buffer.writeUIntLE(marker.offset, 5, 6);
  return buffer;
}

export function decodeTailMarkerV1(buffer: Buffer): TailMarkerV1 | undefined {
  if (buffer.length !== 11 || buffer.readUInt8(0) !== 1) return undefined;
  return { version: 1, segmentNumber: buffer.readUInt32LE(1), offset: buffer.readUIntLE(5, 6) };
}

export const chunkKeyPrefix = 'c/';
/** Upper bound of the 'c/' namespace: '0' is the character after '/'. */
export const chunkKeyEnd = 'c0';
export const tailMarkerKey = 'cs/tail';

export function chunkKeyOf(id: ChunkId): string {
  return chunkKeyPrefix + id;
}

export function segmentFileNameOf(segmentNumber: number): string {
  return `${String(segmentNumber).padStart(10, '0')}.seg`;
}

export function segmentNumberOfFileName(name: string): number | undefined {
  const match = /^(\d{10})\.seg$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}
