// ManifestV1: the list of (chunk id, chunk key, plaintext length) that rebuilds one object or
// extent, its compact binary form, and range lookup. Sealing lives in manifest-seal.ts.
//
// Binary layout (all integers big-endian):
//   0  magic "CRNM"         4 bytes
//   4  version = 1          u16
//   6  reserved = 0         u16
//   8  entry count          u32   ≤ manifestEntriesMax
//  12  object size          u64   = Σ entry lengths, ≤ 2^53 − 1
//  20  entries              count × (id 32 bytes ‖ key 32 bytes ‖ length u32)
// Decoding is strict and canonical: any other byte string is ManifestCorrupt, so a decoded
// manifest re-encodes to exactly its input.
import { assert } from './errors.js';
import { DedupError } from './error-codes.js';
import { type ChunkId, chunkIdFromBytes, chunkIdToBytes, isChunkId } from './convergent.js';
import {
  chunkBytesMax, chunkIdBytes, chunkKeyBytes, manifestEncodedBytesMax, manifestEntriesMax,
  manifestEntryBytes, manifestHeaderBytes,
} from './limits.js';

export interface ManifestEntryV1 {
  id: ChunkId;
  key: Buffer;
  /** Plaintext bytes of this chunk, 1 ≤ length ≤ chunkBytesMax. */
  length: number;
}

export interface ManifestV1 {
  version: 1;
  /** Plaintext bytes of the whole object: the sum of entry lengths. */
  size: number;
  entries: ManifestEntryV1[];
}

const magic = Buffer.from('CRNM', 'latin1');
const twoTo32 = 2 ** 32;

function corrupt(message: string): DedupError {
  return new DedupError('ManifestCorrupt', `manifest corrupt: ${message}`);
}

function assertWellFormed(manifest: ManifestV1): void {
  assert(manifest.version === 1, 'manifest version must be 1');
  assert(manifest.entries.length <= manifestEntriesMax, 'too many manifest entries');
  let total = 0;
  for (const entry of manifest.entries) {
    assert(isChunkId(entry.id), 'manifest entry id is not a chunk id');
    assert(entry.key.length === chunkKeyBytes, 'manifest entry key must be 32 bytes');
    assert(Number.isSafeInteger(entry.length) && entry.length >= 1 && entry.length <= chunkBytesMax, 'entry length out of range');
    total += entry.length;
  }
  assert(total === manifest.size, 'manifest size must equal the sum of entry lengths');
}

export function encodeManifest(manifest: ManifestV1): Buffer {
  assertWellFormed(manifest);
  const count = manifest.entries.length;
  const out = Buffer.allocUnsafe(manifestHeaderBytes + count * manifestEntryBytes);
  magic.copy(out, 0);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(count, 8);
  out.writeUInt32BE(Math.floor(manifest.size / twoTo32), 12);
  out.writeUInt32BE(manifest.size % twoTo32, 16);
  let at = manifestHeaderBytes;
  for (const entry of manifest.entries) {
    chunkIdToBytes(entry.id).copy(out, at);
    entry.key.copy(out, at + chunkIdBytes);
    out.writeUInt32BE(entry.length, at + chunkIdBytes + chunkKeyBytes);
    at += manifestEntryBytes;
  }
  assert(at === out.length, 'encoded manifest filled exactly');
  return out;
}

/** Reads the header; checks that the input length matches the count before anything is allocated. */
function decodeHeader(bytes: Buffer): { count: number; size: number } {
  if (bytes.length < manifestHeaderBytes) throw corrupt('shorter than its header');
  if (bytes.length > manifestEncodedBytesMax) throw corrupt('longer than manifestEncodedBytesMax');
  if (!bytes.subarray(0, 4).equals(magic)) throw corrupt('bad magic');
  const version = bytes.readUInt16BE(4);
  if (version !== 1) throw corrupt(`unsupported version ${version}`);
  if (bytes.readUInt16BE(6) !== 0) throw corrupt('reserved field is not zero');
  const count = bytes.readUInt32BE(8);
  if (count > manifestEntriesMax) throw corrupt(`entry count ${count} exceeds manifestEntriesMax`);
  if (bytes.length !== manifestHeaderBytes + count * manifestEntryBytes) {
    throw corrupt(`length ${bytes.length} does not match entry count ${count}`);
  }
  const sizeHigh = bytes.readUInt32BE(12);
  const size = sizeHigh * twoTo32 + bytes.readUInt32BE(16);
  if (sizeHigh >= 2 ** 21) throw corrupt('object size exceeds 2^53 − 1');
  return { count, size };
}

/** Decodes untrusted bytes; any malformation is CairnError('ManifestCorrupt'), nothing else. */
export function decodeManifest(encoded: Uint8Array): ManifestV1 {
  assert(encoded instanceof Uint8Array, 'manifest input must be bytes');
  const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const { count, size } = decodeHeader(bytes);
  const entries: ManifestEntryV1[] = new Array(count);
  let total = 0;
  let at = manifestHeaderBytes;
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32BE(at + chunkIdBytes + chunkKeyBytes);
    if (length < 1 || length > chunkBytesMax) throw corrupt(`entry ${i} length ${length} out of range`);
    const id = chunkIdFromBytes(bytes.subarray(at, at + chunkIdBytes));
    // Copy the key so the manifest owns it and the caller may reuse its input buffer.
    const key = Buffer.from(bytes.subarray(at + chunkIdBytes, at + chunkIdBytes + chunkKeyBytes));
    entries[i] = { id, key, length };
    total += length;
    at += manifestEntryBytes;
  }
  if (total !== size) throw corrupt(`size ${size} is not the sum of entry lengths ${total}`);
  return { version: 1, size, entries };
}

/** offsets[i] is where entry i starts in the object; offsets[n] = size. */
export function offsetsOf(manifest: ManifestV1): Float64Array {
  const offsets = new Float64Array(manifest.entries.length + 1);
  let at = 0;
  for (let i = 0; i < manifest.entries.length; i++) {
    offsets[i] = at;
    at += manifest.entries[i].length;
  }
  offsets[manifest.entries.length] = at;
  assert(at === manifest.size, 'manifest size must equal the sum of entry lengths');
  return offsets;
}

/** Which chunks hold bytes [start, endInclusive], and where in the first and last chunk. */
export interface ChunkRange {
  firstIndex: number;
  lastIndex: number;
  /** Offset of `start` inside entry firstIndex. */
  firstOffset: number;
  /** Offset of `endInclusive` inside entry lastIndex. */
  lastOffsetInclusive: number;
}

/** The largest i < n with offsets[i] ≤ position (offsets strictly increase: lengths ≥ 1). */
function entryIndexAt(offsets: Float64Array, position: number): number {
  let low = 0;
  let high = offsets.length - 2;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (offsets[middle] <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * Maps a byte range (both ends inclusive, RFC 9110 §14.1.2 after the door has resolved
 * suffix and open-ended forms) to entries. A range outside [0, size) is InvalidRange.
 * Pass `offsets` from offsetsOf() when locating many ranges in one manifest.
 */
export function locateRange(
  manifest: ManifestV1, start: number, endInclusive: number, offsets: Float64Array = offsetsOf(manifest),
): ChunkRange {
  assert(offsets.length === manifest.entries.length + 1, 'offsets belong to another manifest');
  const valid = Number.isSafeInteger(start) && Number.isSafeInteger(endInclusive)
    && start >= 0 && start <= endInclusive && endInclusive < manifest.size;
  if (!valid) {
    throw new DedupError('InvalidRange', `range ${start}-${endInclusive} is not within an object of ${manifest.size} bytes`);
  }
  const firstIndex = entryIndexAt(offsets, start);
  const lastIndex = entryIndexAt(offsets, endInclusive);
  const range: ChunkRange = {
    firstIndex,
    lastIndex,
    firstOffset: start - offsets[firstIndex],
    lastOffsetInclusive: endInclusive - offsets[lastIndex],
  };
  assert(range.firstOffset < manifest.entries[firstIndex].length, 'start falls inside its entry');
  assert(range.lastOffsetInclusive < manifest.entries[lastIndex].length, 'end falls inside its entry');
  return range;
}
