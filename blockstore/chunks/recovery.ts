// Opening a segment directory after any crash (kill -9 at any instant). Everything before the
// tail marker was acknowledged and fsynced; records after it may be whole (written, not yet
// indexed), torn, or absent. Valid ones are fsynced and re-indexed with count 0 (GC reclaims them
// unless a later commit references them); the first invalid record ends the segment (truncate).
// A segment file after the tail with no valid header was being created: it held nothing
// acknowledged, so it is removed.
import type { MetaOp, MetaStore } from '../meta/meta-store.js';
import { chunkIdOf, type ChunkId } from './chunk-id.js';
import type { Disk } from './disk.js';
import type { ChunkStoreLimits } from './limits.js';
import { SegmentFile } from './segment-file.js';
import {
  chunkKeyOf, decodeRecordHeader, decodeSegmentHeaderV1, decodeTailMarkerV1, encodeChunkEntryV1, encodeTailMarkerV1,
  recordBytesOf, recordChecksumValid, recordHeaderBytes, segmentHeaderBytes, segmentNumberOfFileName, tailMarkerKey,
  type ChunkEntryV1, type TailMarkerV1,
} from './segment-format.js';

export interface RecoveredSegments {
  segments: Map<number, SegmentFile>;
  active: SegmentFile;
  chunksRecovered: number;
  bytesTruncated: number;
}

export async function recoverSegments(disk: Disk, directory: string, meta: MetaStore, limits: ChunkStoreLimits): Promise<RecoveredSegments> {
  await disk.mkdir(directory);
  const tailValue = await meta.get(tailMarkerKey);
  const tail = tailValue === undefined ? undefined : decodeTailMarkerV1(tailValue);
  const segments = await openSegmentFiles(disk, directory, tail);
  const found = new Map<ChunkId, ChunkEntryV1>();
  let bytesTruncated = 0;
  for (const segment of [...segments.values()].sort((a, b) => a.segmentNumber - b.segmentNumber)) {
    if (tail !== undefined && segment.segmentNumber < tail.segmentNumber) continue;
    const start = tail !== undefined && segment.segmentNumber === tail.segmentNumber
      ? Math.min(Math.max(tail.offset, segmentHeaderBytes), segment.size)
      : segmentHeaderBytes;
    bytesTruncated += await scanSegmentTail(segment, start, limits, found);
  }
  let active = newestOf(segments);
  if (active === undefined) {
    active = await SegmentFile.create(disk, directory, (tail?.segmentNumber ?? 0) + 1);
    segments.set(active.segmentNumber, active);
  }
  const ops: MetaOp[] = [];
  for (const [id, entry] of found) {
    if ((await meta.get(chunkKeyOf(id))) === undefined) ops.push({ type: 'put', key: chunkKeyOf(id), value: encodeChunkEntryV1(entry) });
  }
  const marker = encodeTailMarkerV1({ version: 1, segmentNumber: active.segmentNumber, offset: active.size });
  ops.push({ type: 'put', key: tailMarkerKey, value: marker });
  await meta.batch(ops);
  return { segments, active, chunksRecovered: ops.length - 1, bytesTruncated };
}

async function openSegmentFiles(disk: Disk, directory: string, tail: TailMarkerV1 | undefined): Promise<Map<number, SegmentFile>> {
  const numbers = (await disk.readdir(directory))
    .map(segmentNumberOfFileName)
    .filter((value): value is number => value !== undefined)
    .sort((a, b) => a - b);
  const segments = new Map<number, SegmentFile>();
  for (const segmentNumber of numbers) {
    const segment = await SegmentFile.open(disk, directory, segmentNumber);
    const header = decodeSegmentHeaderV1(await segment.read(0, segmentHeaderBytes));
    const valid = header !== undefined && header.segmentNumber === segmentNumber;
    if (!valid && (tail === undefined || segmentNumber > tail.segmentNumber)) {
      await segment.close();
      await disk.unlink(segment.path);
      await disk.fsyncDirectory(directory);
      continue;
    }
    // A sealed segment with a damaged header stays: each record is still verified on read.
    segments.set(segmentNumber, segment);
  }
  return segments;
}

function newestOf(segments: Map<number, SegmentFile>): SegmentFile | undefined {
  let newest: SegmentFile | undefined;
  for (const segment of segments.values()) if (newest === undefined || segment.segmentNumber > newest.segmentNumber) newest = segment;
  return newest;
}

/** Indexes valid records from `start`, truncates at the first invalid one; returns bytes cut. */
async function scanSegmentTail(segment: SegmentFile, start: number, limits: ChunkStoreLimits, found: Map<ChunkId, ChunkEntryV1>): Promise<number> {
  let offset = start;
  const recordsMax = Math.ceil(limits.segmentBytesMax / recordHeaderBytes); // loop bound
  for (let records = 0; offset < segment.size && records < recordsMax; records++) {
    const header = decodeRecordHeader(await segment.read(offset, recordHeaderBytes));
    if (header === undefined || header.ciphertextBytes > limits.chunkCiphertextBytesMax) break;
    const recordBytes = recordBytesOf(header.ciphertextBytes);
    if (offset + recordBytes > segment.size) break;
    const record = await segment.read(offset, recordBytes);
    if (record.length !== recordBytes || !recordChecksumValid(record)) break;
    const ciphertext = record.subarray(recordHeaderBytes, recordHeaderBytes + header.ciphertextBytes);
    if (chunkIdOf(ciphertext) !== header.id) break;
    if (!found.has(header.id)) {
      found.set(header.id, { version: 1, segmentNumber: segment.segmentNumber, offset, ciphertextBytes: header.ciphertextBytes, refCount: 0 });
    }
    offset += recordBytes;
  }
  const cut = segment.size - offset;
  // Truncate (which fsyncs) or fsync anyway: the killed process's writes may sit only in the
  // page cache, and they must be durable before the index points at them.
  if (cut > 0) await segment.truncate(offset);
  else if (offset > start) await segment.datasync();
  return cut;
}
