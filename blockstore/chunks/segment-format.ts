// Persisted formats of the chunk store (STYLE.md §5): the segment file header, the record header,
// and the two index values kept in the MetaStore. Each has a V1 type and an encode/decode pair;
// decoders return undefined for bytes that are not a valid V1 value, never throw.
//
// Segment file:  SegmentHeaderV1 (16 B) then records, append-only.
// Record:        RecordHeaderV1 (44 B) ‖ ciphertext ‖ crc32 (4 B, LE) of header ‖ ciphertext.
// Why crc32 and not sha256 for the record checksum: the ciphertext is already covered by its id
// (sha256, verified on every read), so the record checksum only has to catch torn writes at the
// tail and damage to the header fields (length, id) that the id hash does not cover. crc32 from
// node:zlib runs at several GB/s versus ~1.7 GB/s for sha256 (LIMITS.md), and recovery checks
// both anyway before re-indexing a record.
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

export interface RecordHeaderV1 {
  version: 1;
  ciphertextBytes: number;
  id: ChunkId;
}

export const recordFramingBytes = recordHeaderBytes + recordTrailerBytes;

/** Header and trailer of one record; the ciphertext goes between them without being copied. */
export function encodeRecordFramingV1(id: ChunkId, ciphertext: Uint8Array): { header: Buffer; trailer: Buffer } {
  return encodeRecordFramingV1Into(id, ciphertext, Buffer.allocUnsafe(recordFramingBytes), 0);
}

/**
 * encodeRecordFramingV1 into framing[at, at + recordFramingBytes), header then trailer: the
 * writer encodes a whole group into one buffer (two small allocations per chunk fewer).
 */
export function encodeRecordFramingV1Into(id: ChunkId, ciphertext: Uint8Array, framing: Buffer, at: number): { header: Buffer; trailer: Buffer } {
  const header = framing.subarray(at, at + recordHeaderBytes);
  const trailer = framing.subarray(at + recordHeaderBytes, at + recordFramingBytes);
  header.writeUInt32LE(recordMagic, 0);
  header.writeUInt32LE(1, 4); // version 1 in byte 4; bytes 5..7 reserved, zero
  header.writeUInt32LE(ciphertext.length, 8);
  header.write(id, 12, chunkIdBytes, 'hex');
  trailer.writeUInt32LE(crc32(ciphertext, crc32(header)) >>> 0, 0);
  return { header, trailer };
}

export function decodeRecordHeaderV1(buffer: Buffer, offset = 0): RecordHeaderV1 | undefined {
  if (buffer.length - offset < recordHeaderBytes) return undefined;
  if (buffer.readUInt32LE(offset) !== recordMagic || buffer.readUInt8(offset + 4) !== 1) return undefined;
  if (buffer.readUInt8(offset + 5) !== 0 || buffer.readUInt16LE(offset + 6) !== 0) return undefined;
  const ciphertextBytes = buffer.readUInt32LE(offset + 8);
  const id = buffer.toString('hex', offset + 12, offset + 12 + chunkIdBytes) as ChunkId;
  return { version: 1, ciphertextBytes, id };
}

/** Whether a whole record's trailer matches its header and ciphertext. */
export function recordChecksumValid(record: Buffer): boolean {
  const bodyBytes = record.length - recordTrailerBytes;
  if (bodyBytes < recordHeaderBytes) return false;
  return (crc32(record.subarray(0, bodyBytes)) >>> 0) === record.readUInt32LE(bodyBytes);
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
