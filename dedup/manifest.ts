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
import { AssertionError, assert } from './errors.js';
import { DedupError } from './error-codes.js';
import { type ChunkId, chunkIdFromBytes, chunkIdToBytes } from './convergent.js';
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

/**
 * A manifest's entries packed as they are encoded (id ‖ key ‖ length, 68 bytes each) in one
 * growable Buffer. Why not an array of objects: a 5 GiB object's 82k entries cost ~20 MB of
 * heap that way (an entry object, a key Buffer and a 64-digit id string each), the largest live
 * heap of a big PUT or GET; packed they are 5.6 MB outside the heap, encoded by one copy.
 * Entries are written once: keyAt/at hand out views of the packed bytes, never to be mutated.
 */
export class ManifestEntries implements Iterable<ManifestEntryV1> {
  private bytes: Buffer;
  private count = 0;

  constructor(capacity = 16) {
    this.bytes = Buffer.alloc(Math.max(1, capacity) * manifestEntryBytes);
  }

  static of(entries: Iterable<ManifestEntryV1>): ManifestEntries {
    const packed = new ManifestEntries();
    for (const entry of entries) packed.set(packed.length, entry);
    return packed;
  }

  static concat(lists: readonly ManifestEntries[]): ManifestEntries {
    const total = lists.reduce((sum, list) => sum + list.length, 0);
    assert(total <= manifestEntriesMax, 'too many manifest entries');
    const packed = new ManifestEntries(total);
    for (const list of lists) {
      list.bytes.copy(packed.bytes, packed.count * manifestEntryBytes, 0, list.count * manifestEntryBytes);
      packed.count += list.count;
    }
    return packed;
  }

  /** Entries as decodeManifest found them (copied: the caller's buffer stays its own). */
  static fromPacked(bytes: Uint8Array, count: number): ManifestEntries {
    assert(bytes.length === count * manifestEntryBytes, 'packed entries are count × manifestEntryBytes long');
    const packed = new ManifestEntries(count);
    packed.bytes.set(bytes);
    packed.count = count;
    return packed;
  }

  get length(): number {
    return this.count;
  }

  idAt(index: number): ChunkId {
    const at = this.offsetOf(index);
    return chunkIdFromBytes(this.bytes.subarray(at, at + chunkIdBytes));
  }

  /** A view of the packed bytes (no copy). */
  keyAt(index: number): Buffer {
    const at = this.offsetOf(index) + chunkIdBytes;
    return this.bytes.subarray(at, at + chunkKeyBytes);
  }

  lengthAt(index: number): number {
    return this.bytes.readUInt32BE(this.offsetOf(index) + chunkIdBytes + chunkKeyBytes);
  }

  at(index: number): ManifestEntryV1 {
    return { id: this.idAt(index), key: this.keyAt(index), length: this.lengthAt(index) };
  }

  /**
   * Writes entry `index`, growing the list to index + 1 if needed (slots skipped over read as
   * length 0, which encodeManifest refuses): the blob writer fills slots as seals finish, in any order.
   */
  set(index: number, entry: ManifestEntryV1): void {
    assert(Number.isSafeInteger(index) && index >= 0 && index < manifestEntriesMax, 'manifest entry index out of range');
    assert(entry.key.length === chunkKeyBytes, 'manifest entry key must be 32 bytes');
    assert(Number.isSafeInteger(entry.length) && entry.length >= 1 && entry.length <= chunkBytesMax, 'entry length out of range');
    const needed = (index + 1) * manifestEntryBytes;
    if (needed > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(needed, Math.min(this.bytes.length * 2, manifestEntriesMax * manifestEntryBytes)));
      this.bytes.copy(grown, 0, 0, this.count * manifestEntryBytes);
      this.bytes = grown;
    }
    const at = index * manifestEntryBytes;
    chunkIdToBytes(entry.id).copy(this.bytes, at);
    entry.key.copy(this.bytes, at + chunkIdBytes);
    this.bytes.writeUInt32BE(entry.length, at + chunkIdBytes + chunkKeyBytes);
    if (index >= this.count) this.count = index + 1;
  }

  /** The packed bytes of every entry: exactly what the encoding holds after its header. */
  packed(): Buffer {
    return this.bytes.subarray(0, this.count * manifestEntryBytes);
  }

  toArray(): ManifestEntryV1[] {
    return Array.from(this);
  }

  *[Symbol.iterator](): Iterator<ManifestEntryV1> {
    for (let index = 0; index < this.count; index++) yield this.at(index);
  }

  private offsetOf(index: number): number {
    // Not assert(): its message would be built on every call, and this runs per entry per read.
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.count)) throw new AssertionError(`manifest entry ${index} of ${this.count}`);
    return index * manifestEntryBytes;
  }
}

export interface ManifestV1 {
  version: 1;
  /** Plaintext bytes of the whole object: the sum of entry lengths. */
  size: number;
  entries: ManifestEntries;
}

const magic = Buffer.from('CRNM', 'latin1');
const twoTo32 = 2 ** 32;

function corrupt(message: string): DedupError {
  return new DedupError('ManifestCorrupt', `manifest corrupt: ${message}`);
}

/** Sum of entry lengths; throws `fail(message)` at the first length outside [1, chunkBytesMax]. */
function totalLength(entries: ManifestEntries, fail: (message: string) => Error): number {
  let total = 0;
  for (let index = 0; index < entries.length; index++) {
    const length = entries.lengthAt(index);
    if (length < 1 || length > chunkBytesMax) throw fail(`entry ${index} length ${length} out of range`);
    total += length;
  }
  return total;
}

export function encodeManifest(manifest: ManifestV1): Buffer {
  assert(manifest.version === 1, 'manifest version must be 1');
  assert(manifest.entries instanceof ManifestEntries, 'manifest entries must be ManifestEntries');
  assert(manifest.entries.length <= manifestEntriesMax, 'too many manifest entries');
  const total = totalLength(manifest.entries, (message) => new AssertionError(message));
  assert(total === manifest.size, 'manifest size must equal the sum of entry lengths');
  const count = manifest.entries.length;
  const out = Buffer.allocUnsafe(manifestHeaderBytes + count * manifestEntryBytes);
  magic.copy(out, 0);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(count, 8);
  out.writeUInt32BE(Math.floor(manifest.size / twoTo32), 12);
  out.writeUInt32BE(manifest.size % twoTo32, 16);
  manifest.entries.packed().copy(out, manifestHeaderBytes);
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
  const entries = ManifestEntries.fromPacked(bytes.subarray(manifestHeaderBytes), count);
  const total = totalLength(entries, corrupt);
  if (total !== size) throw corrupt(`size ${size} is not the sum of entry lengths ${total}`);
  return { version: 1, size, entries };
}

/** offsets[i] is where entry i starts in the object; offsets[n] = size. */
export function offsetsOf(manifest: ManifestV1): Float64Array {
  const offsets = new Float64Array(manifest.entries.length + 1);
  let at = 0;
  for (let i = 0; i < manifest.entries.length; i++) {
    offsets[i] = at;
    at += manifest.entries.lengthAt(i);
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
  assert(range.firstOffset < manifest.entries.lengthAt(firstIndex), 'start falls inside its entry');
  assert(range.lastOffsetInclusive < manifest.entries.lengthAt(lastIndex), 'end falls inside its entry');
  return range;
}
