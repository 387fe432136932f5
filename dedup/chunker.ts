// Content-defined chunking with FastCDC (Xia et al., "FastCDC: a Fast and Efficient
// Content-Defined Chunking Approach for Data Deduplication", USENIX ATC '16, Algorithm 1 and
// §3.3 "normalized chunking"), plus a fixed-size blocker with the same streaming shape.
//
// Cut rule, per chunk: skip the first minBytes (no cut can fall there, §3.2 "cut-point
// skipping"); from then on roll the gear hash fp = (fp << 1) + gear[byte] and cut after a byte
// whose fp has all bits of the mask clear. Below averageBytes the mask has log2(avg)+2 bits
// (cuts are rare), above it log2(avg)-2 bits (cuts are common): normalization level 2, which
// pulls chunk sizes toward the average. A chunk that reaches maxBytes is cut there.
//
// The hash uses the TOP bits of a 32-bit fp: after a left shift, bit k depends only on the last
// k+1 bytes, so top bits give the widest (32-byte) window. All state is int32 and lives in
// locals inside the scan; the loop takes four bytes per 32-bit load (LIMITS.md: ~120 MB/s
// naive, ~1,500 careful).
//
// Streaming: the gear state and the bytes of the unfinished chunk survive between pushes, so
// cut points depend only on the byte sequence, never on how it was split into pushes.
import { assert } from './errors.js';
import { DedupError } from './error-codes.js';
import { SplitMix32 } from './splitmix32.js';
import { chunkBytesMax, chunkBytesMin, volumeBlockBytes } from './limits.js';

export interface ChunkerParams {
  minBytes: number;
  averageBytes: number;
  maxBytes: number;
}

/** Object chunking: 16/64/256 KiB (see README.md for why). */
export const objectChunkerParams: Readonly<ChunkerParams> = Object.freeze({
  minBytes: 16 * 1024,
  averageBytes: 64 * 1024,
  maxBytes: 256 * 1024,
});

/** Changing this seed changes every cut point, and so every chunk id ever stored: never do. */
const gearSeed = 0x63616972; // "cair"

function makeGearTable(seed: number): Int32Array {
  const random = new SplitMix32(seed);
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = random.nextUint32() | 0;
  return table;
}

const gearTable: Int32Array = makeGearTable(gearSeed);

/** A copy of the gear table, for tests that check the chunker against an independent model. */
export function copyGearTable(): Int32Array {
  return gearTable.slice();
}

/** A mask of the top `bits` bits of an int32. */
function topBitsMask(bits: number): number {
  assert(bits >= 1 && bits <= 31, 'mask bit count out of range');
  return (0xffffffff << (32 - bits)) | 0;
}

/** Throws InvalidChunkerParams unless min < average < max lie within the chunk limits. */
export function validateChunkerParams(params: ChunkerParams): void {
  const { minBytes, averageBytes, maxBytes } = params;
  const integers = [minBytes, averageBytes, maxBytes].every((value) => Number.isSafeInteger(value));
  if (!integers) throw new DedupError('InvalidChunkerParams', 'chunker sizes must be integers');
  if (minBytes < chunkBytesMin || maxBytes > chunkBytesMax) {
    throw new DedupError('InvalidChunkerParams', `chunk sizes must lie in [${chunkBytesMin}, ${chunkBytesMax}]`);
  }
  if (!(minBytes < averageBytes && averageBytes < maxBytes)) {
    throw new DedupError('InvalidChunkerParams', 'need minBytes < averageBytes < maxBytes');
  }
  if ((averageBytes & (averageBytes - 1)) !== 0) {
    throw new DedupError('InvalidChunkerParams', 'averageBytes must be a power of two (its log2 sets the masks)');
  }
}

interface CutConfig {
  readonly minBytes: number;
  readonly averageBytes: number;
  readonly maxBytes: number;
  readonly maskSmall: number; // more bits: used below averageBytes
  readonly maskLarge: number; // fewer bits: used from averageBytes to maxBytes
}

function cutConfigOf(params: ChunkerParams): CutConfig {
  validateChunkerParams(params);
  const averageBits = Math.round(Math.log2(params.averageBytes));
  return {
    minBytes: params.minBytes,
    averageBytes: params.averageBytes,
    maxBytes: params.maxBytes,
    maskSmall: topBitsMask(averageBits + 2),
    maskLarge: topBitsMask(averageBits - 2),
  };
}

// The word loop reads source through a Uint32Array and takes bytes from it low byte first,
// which is the byte order of memory only on little-endian hosts (every platform Node ships on).
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
assert(littleEndian, 'the chunker assumes a little-endian host');

/** A word view of source's 4-byte-aligned interior, which starts at byte (4 − byteOffset) mod 4. */
function wordViewOf(source: Uint8Array): Uint32Array {
  const delta = (4 - (source.byteOffset & 3)) & 3;
  const count = source.length > delta ? (source.length - delta) >>> 2 : 0;
  return new Uint32Array(source.buffer, source.byteOffset + delta, count);
}

/**
 * Rolls the gear hash over source[index, stop) from state `fp`. Returns the index just past the
 * first byte after which fp & mask is zero, or -1 with the final fp left in gearState[0].
 * One 32-bit load feeds four steps (measured ~1.6x over byte loads unrolled 4x): that is the
 * unrolled loop; the byte loops only cover the unaligned head and the tail.
 */
function gearRun(
  source: Uint8Array, words: Uint32Array, index: number, stop: number, mask: number, fp: number,
  gearState: Int32Array,
): number {
  const gear = gearTable;
  const delta = (4 - (source.byteOffset & 3)) & 3;
  let i = index;
  while (i < stop && ((i - delta) & 3) !== 0) {
    fp = ((fp << 1) + gear[source[i]]) | 0;
    if ((fp & mask) === 0) return i + 1;
    i++;
  }
  if (i < stop) {
    let w = (i - delta) >>> 2;
    const wordEnd = (stop - delta) >>> 2;
    for (; w < wordEnd; w++) {
      const word = words[w];
      fp = ((fp << 1) + gear[word & 0xff]) | 0;
      if ((fp & mask) === 0) return (w << 2) + delta + 1;
      fp = ((fp << 1) + gear[(word >>> 8) & 0xff]) | 0;
      if ((fp & mask) === 0) return (w << 2) + delta + 2;
      fp = ((fp << 1) + gear[(word >>> 16) & 0xff]) | 0;
      if ((fp & mask) === 0) return (w << 2) + delta + 3;
      fp = ((fp << 1) + gear[word >>> 24]) | 0;
      if ((fp & mask) === 0) return (w << 2) + delta + 4;
    }
    i = (w << 2) + delta;
  }
  while (i < stop) {
    fp = ((fp << 1) + gear[source[i]]) | 0;
    if ((fp & mask) === 0) return i + 1;
    i++;
  }
  gearState[0] = fp;
  return -1;
}

/**
 * Continues a chunk that already holds `length` bytes (gear state `fp`) over source[from, to).
 * Returns the exclusive end index of the chunk in source if it ends there, else -1 with the
 * gear state in gearState[0].
 */
function scanForCut(
  source: Uint8Array, words: Uint32Array, from: number, to: number, length: number, fp: number,
  config: CutConfig, gearState: Int32Array,
): number {
  let index = from;
  if (length < config.minBytes) {
    index = from + (config.minBytes - length); // FastCDC §3.2: no cut below minBytes
    fp = 0;
    if (index >= to) {
      gearState[0] = 0;
      return -1;
    }
  }
  const normalEnd = from + (config.averageBytes - length);
  if (index < normalEnd) {
    const stop = normalEnd < to ? normalEnd : to;
    const cut = gearRun(source, words, index, stop, config.maskSmall, fp, gearState);
    if (cut >= 0 || stop === to) return cut;
    index = stop;
    fp = gearState[0];
  }
  const maxEnd = from + (config.maxBytes - length);
  const stop = maxEnd < to ? maxEnd : to;
  const cut = gearRun(source, words, index, stop, config.maskLarge, fp, gearState);
  if (cut >= 0) return cut;
  return stop === maxEnd ? maxEnd : -1;
}

function viewOf(data: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(data.buffer, data.byteOffset + start, end - start);
}

/**
 * Unfinished chunks are copied into a slab this many maxBytes long and handed out as views of it,
 * so a byte of a chunk that spans pushes is copied once (into the slab), not twice (into a
 * pending buffer, then into the chunk): with 64 KiB pushes nearly every chunk spans two or more.
 * A slab lives until its last chunk is dropped; at most maxBytes of it is never used. A chunker's
 * first slab is only as big as its first need: most objects are small, and a full slab (1 MiB
 * for objects) per 4 KiB PUT was most of that PUT's garbage.
 */
const slabChunksMax = 4;
const slabFirstGranuleBytes = 4096;
/**
 * Full slabs kept for reuse once every chunk cut from them is released (release()). Each new
 * slab is a fresh ArrayBuffer outside V8's heap, and on a 1 GiB PUT those allocations were a
 * third of what drives the main thread's major GCs.
 */
const slabsSparedMax = 2;

/** A full-size slab's bookkeeping: chunks handed out of it and released back. */
interface SlabUse {
  handedOut: number;
  released: number;
  /** The chunker has moved on to another slab: it will hand out nothing more from this one. */
  retired: boolean;
}

/**
 * Streaming FastCDC. push() returns the chunks completed so far; end() returns the tail.
 * Ownership: a returned chunk is a view either of the `data` passed to push() or of a slab the
 * chunker fills only forward and never writes again where it handed a chunk out; the chunker
 * never writes to `data` nor keeps a reference to it after push returns, so chunks stay valid
 * after further pushes as long as the caller does not overwrite its own input — and, for a
 * caller that uses release(), until it releases them.
 * Internal buffering is bounded by slabChunksMax × maxBytes (+ slabsSparedMax spare slabs).
 */
export class ContentChunker {
  private readonly config: CutConfig;
  private slab: Buffer = Buffer.alloc(0);
  /** Full-size slabs with chunks handed out, by ArrayBuffer (only these are ever reused). Weak:
   *  a caller that never releases leaves its slabs to GC, as before. */
  private readonly slabUses = new WeakMap<ArrayBufferLike, SlabUse>();
  private readonly spareSlabs: Buffer[] = [];
  /** Where the unfinished chunk starts in `slab`; everything before it is handed out. */
  private slabStart = 0;
  private pendingLength = 0;
  private fp = 0;
  private readonly gearState = new Int32Array(1);

  constructor(params: ChunkerParams = objectChunkerParams) {
    this.config = cutConfigOf(params);
  }

  push(data: Uint8Array): Buffer[] {
    const chunks: Buffer[] = [];
    const words = wordViewOf(data);
    let start = 0;
    if (this.pendingLength > 0) {
      start = this.continuePending(data, words, chunks);
      if (start < 0) return chunks;
    }
    const config = this.config;
    const gearState = this.gearState;
    const length = data.length;
    for (;;) {
      const end = scanForCut(data, words, start, length, 0, 0, config, gearState);
      if (end < 0) break;
      chunks.push(viewOf(data, start, end));
      start = end;
    }
    const tail = length - start;
    assert(tail < config.maxBytes, 'a tail of maxBytes must have been cut');
    if (tail > 0) {
      this.reserve(tail);
      this.slab.set(data.subarray(start), this.slabStart); // copy: the caller may reuse `data`
    }
    this.pendingLength = tail;
    this.fp = gearState[0];
    return chunks;
  }

  /** Flushes the unfinished chunk (shorter than minBytes only here) and resets the chunker. */
  end(): Buffer[] {
    if (this.pendingLength === 0) return [];
    const tail = this.takePending(this.pendingLength);
    this.fp = 0;
    return [tail];
  }

  /**
   * The caller is done with a chunk from push() or end(): nothing will read it again. Once every
   * chunk of a full slab is released and the chunker has moved past that slab, the slab is
   * refilled instead of allocating another. Optional (without it, slabs are left to GC); a chunk
   * still in use must never be released. Chunks that are views of pushed data are ignored.
   */
  release(chunk: Buffer): void {
    const use = this.slabUses.get(chunk.buffer);
    if (use === undefined) return;
    use.released++;
    assert(use.released <= use.handedOut, 'a chunk was released twice');
    this.spareIfDone(chunk.buffer, use);
  }

  /** Hands out the first `length` bytes at slabStart; the slab is never written there again. */
  private takePending(length: number): Buffer {
    const chunk = this.slab.subarray(this.slabStart, this.slabStart + length);
    this.slabStart += length;
    this.pendingLength = 0;
    const use = this.slabUses.get(this.slab.buffer);
    if (use !== undefined) use.handedOut++;
    return chunk;
  }

  /** Room for the unfinished chunk to grow to `bytes`: past the slab's end, the unfinished bytes
   * move to a new slab (the old one belongs to the chunks handed out of it). */
  private reserve(bytes: number): void {
    if (this.slabStart + bytes <= this.slab.length) return;
    const fullBytes = this.config.maxBytes * slabChunksMax;
    const size = this.slab.length === 0 ? Math.ceil(bytes / slabFirstGranuleBytes) * slabFirstGranuleBytes : fullBytes;
    const next = size === fullBytes ? this.spareSlabs.pop() ?? Buffer.allocUnsafe(size) : Buffer.allocUnsafe(size);
    this.slab.copy(next, 0, this.slabStart, this.slabStart + this.pendingLength);
    this.retire(this.slab);
    this.slab = next;
    this.slabStart = 0;
    // Only full slabs are tracked: they own their ArrayBuffer (allocUnsafe pools only small sizes).
    if (size === fullBytes) {
      assert(next.byteOffset === 0 && next.buffer.byteLength === fullBytes, 'a full slab owns its ArrayBuffer');
      this.slabUses.set(next.buffer, { handedOut: 0, released: 0, retired: false });
    }
  }

  private retire(slab: Buffer): void {
    const use = this.slabUses.get(slab.buffer);
    if (use === undefined) return;
    use.retired = true;
    this.spareIfDone(slab.buffer, use);
  }

  private spareIfDone(buffer: ArrayBufferLike, use: SlabUse): void {
    if (!use.retired || use.released !== use.handedOut) return;
    this.slabUses.delete(buffer);
    if (this.spareSlabs.length < slabsSparedMax) this.spareSlabs.push(Buffer.from(buffer));
  }

  /** Extends the pending chunk with data; returns where fresh chunks start, or -1 if all absorbed. */
  private continuePending(data: Uint8Array, words: Uint32Array, chunks: Buffer[]): number {
    const held = this.pendingLength;
    const end = scanForCut(data, words, 0, data.length, held, this.fp, this.config, this.gearState);
    if (end < 0) {
      assert(held + data.length < this.config.maxBytes, 'pending chunk outgrew maxBytes');
      this.reserve(held + data.length);
      this.slab.set(data, this.slabStart + held);
      this.pendingLength = held + data.length;
      this.fp = this.gearState[0];
      return -1;
    }
    this.reserve(held + end);
    this.slab.set(data.subarray(0, end), this.slabStart + held);
    chunks.push(this.takePending(held + end));
    this.fp = 0;
    return end;
  }
}

/**
 * Fixed-size blocking for volumes: every block is exactly blockBytes except a shorter tail from
 * end(). Same ownership contract as ContentChunker.
 */
export class FixedBlocker {
  private pending: Buffer;
  private pendingLength = 0;

  constructor(readonly blockBytes: number = volumeBlockBytes) {
    assert(Number.isSafeInteger(blockBytes) && blockBytes >= 1 && blockBytes <= chunkBytesMax, 'block size out of range');
    this.pending = Buffer.allocUnsafe(blockBytes);
  }

  push(data: Uint8Array): Buffer[] {
    const blocks: Buffer[] = [];
    const size = this.blockBytes;
    let start = 0;
    if (this.pendingLength > 0) {
      start = Math.min(size - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, start), this.pendingLength);
      this.pendingLength += start;
      if (this.pendingLength < size) return blocks;
      blocks.push(this.pending); // hand the full buffer over and start a new one
      this.pending = Buffer.allocUnsafe(size);
      this.pendingLength = 0;
    }
    while (data.length - start >= size) {
      blocks.push(viewOf(data, start, start + size));
      start += size;
    }
    this.pending.set(data.subarray(start), 0);
    this.pendingLength = data.length - start;
    return blocks;
  }

  end(): Buffer[] {
    if (this.pendingLength === 0) return [];
    const tail = Buffer.from(this.pending.subarray(0, this.pendingLength));
    this.pendingLength = 0;
    return [tail];
  }
}
