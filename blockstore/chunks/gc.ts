// Garbage collection in three steps, each safe to crash in:
// 1. scan the index: per-segment live bytes, and candidates (count 0, not pinned);
// 2. free: under indexLock, re-read each candidate, re-check count 0 and pins in one tick while
//    marking it doomed, delete its entry (bytes stay until step 3; recovery never re-indexes
//    them because they lie before the tail marker);
// 3. compact sealed segments (below the first segment of any group in flight when GC began, so no
//    new record or index entry can land in them) whose live fraction is low: copy live chunks (verified) through the append
//    pipeline (fsynced), switch their entries under indexLock, then unlink the old file. A crash
//    before the switch leaves the old entries valid; after it, an unreferenced old file that the
//    next GC deletes.
import { assert } from '../../dedup/errors.js';
import type { MetaOp, MetaStore } from '../meta/meta-store.js';
import type { ChunkId } from './chunk-id.js';
import type { GcResult } from './chunk-store.js';
import type { ChunkStoreLimits } from './limits.js';
import type { Mutex } from './mutex.js';
import type { SegmentFile } from './segment-file.js';
import {
  chunkKeyEnd, chunkKeyOf, chunkKeyPrefix, decodeChunkEntryV1, encodeChunkEntryV1, recordBytesOf, type ChunkEntryV1,
} from './segment-format.js';
import type { Placement } from './segment-writer.js';

/** What GC needs from the store; SegmentChunkStore implements it. */
export interface GcHost {
  readonly directory: string;
  readonly meta: MetaStore;
  readonly limits: ChunkStoreLimits;
  readonly segments: Map<number, SegmentFile>;
  readonly pins: { has(id: ChunkId): boolean };
  readonly doomed: Map<ChunkId, Promise<void>>;
  readonly indexLock: Mutex;
  /** Segments below this are sealed and all their index entries are written. */
  indexedSealedBelow(): number;
  relocate(id: ChunkId, ciphertext: Buffer): Promise<Placement>;
  /** After a batch that deleted or moved these entries: get() must not use what it cached. */
  forgetLocations(ids: readonly ChunkId[]): void;
  entryOf(id: ChunkId): Promise<ChunkEntryV1 | undefined>;
  readVerified(id: ChunkId, entry: ChunkEntryV1): Promise<Buffer | undefined>;
}

interface Located { id: ChunkId; entry: ChunkEntryV1 }
const sliceSize = 512;

export async function runGc(host: GcHost): Promise<GcResult> {
  const sealedBelow = host.indexedSealedBelow();
  const { candidates, liveBytesBySegment } = await scanIndex(host);
  const freed = await freeGarbage(host, candidates);
  for (const candidate of candidates) {
    if (freed.has(candidate.id)) continue;
    const segmentNumber = candidate.entry.segmentNumber;
    liveBytesBySegment.set(segmentNumber, (liveBytesBySegment.get(segmentNumber) ?? 0) + recordBytesOf(candidate.entry.ciphertextBytes));
  }
  const chosen = [...host.segments.values()]
    .filter((segment) => segment.segmentNumber < sealedBelow)
    .filter((segment) => (liveBytesBySegment.get(segment.segmentNumber) ?? 0) / segment.size < host.limits.gcLiveFractionMax)
    .sort((a, b) => a.segmentNumber - b.segmentNumber)
    .slice(0, host.limits.gcSegmentsPerRunMax);
  let bytesFreed = 0;
  let segmentsCompacted = 0;
  if (chosen.length > 0) {
    const entriesBySegment = await entriesOf(host, new Set(chosen.map((segment) => segment.segmentNumber)));
    for (const segment of chosen) {
      const sizeBefore = segment.size;
      const copied = await compactSegment(host, segment, entriesBySegment.get(segment.segmentNumber) ?? []);
      if (copied === undefined) continue;
      bytesFreed += sizeBefore - copied;
      segmentsCompacted++;
    }
  }
  return { chunksFreed: freed.size, bytesFreed: Math.max(0, bytesFreed), segmentsCompacted };
}

async function scanIndex(host: GcHost): Promise<{ candidates: Located[]; liveBytesBySegment: Map<number, number> }> {
  const candidates: Located[] = [];
  const liveBytesBySegment = new Map<number, number>();
  for await (const [key, value] of host.meta.iterate({ gte: chunkKeyPrefix, lt: chunkKeyEnd })) {
    const entry = decodeChunkEntryV1(value);
    assert(entry !== undefined, `index entry ${key} is not a ChunkEntryV1`);
    const id = key.slice(chunkKeyPrefix.length) as ChunkId;
    if (entry.refCount === 0 && !host.pins.has(id)) candidates.push({ id, entry });
    else liveBytesBySegment.set(entry.segmentNumber, (liveBytesBySegment.get(entry.segmentNumber) ?? 0) + recordBytesOf(entry.ciphertextBytes));
  }
  return { candidates, liveBytesBySegment };
}

async function freeGarbage(host: GcHost, candidates: readonly Located[]): Promise<Set<ChunkId>> {
  const freed = new Set<ChunkId>();
  for (let start = 0; start < candidates.length; start += sliceSize) {
    const slice = candidates.slice(start, start + sliceSize);
    await host.indexLock.run(async () => {
      const current = await Promise.all(slice.map((candidate) => host.entryOf(candidate.id)));
      // From here to the batch call nothing awaits: a put either pinned already (we skip its id)
      // or will see it in `doomed` and wait for the delete.
      const doomedNow = slice.filter((candidate, index) => {
        const entry = current[index];
        return entry !== undefined && entry.refCount === 0 && !host.pins.has(candidate.id)
          && entry.segmentNumber === candidate.entry.segmentNumber && entry.offset === candidate.entry.offset;
      });
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      for (const candidate of doomedNow) host.doomed.set(candidate.id, gate);
      try {
        await host.meta.batch(doomedNow.map((candidate): MetaOp => ({ type: 'del', key: chunkKeyOf(candidate.id) })));
        for (const candidate of doomedNow) freed.add(candidate.id);
      } finally {
        host.forgetLocations(doomedNow.map((candidate) => candidate.id));
        for (const candidate of doomedNow) host.doomed.delete(candidate.id);
        release();
      }
    });
  }
  return freed;
}

async function entriesOf(host: GcHost, segmentNumbers: ReadonlySet<number>): Promise<Map<number, Located[]>> {
  const result = new Map<number, Located[]>();
  for await (const [key, value] of host.meta.iterate({ gte: chunkKeyPrefix, lt: chunkKeyEnd })) {
    const entry = decodeChunkEntryV1(value)!;
    if (!segmentNumbers.has(entry.segmentNumber)) continue;
    const list = result.get(entry.segmentNumber) ?? [];
    list.push({ id: key.slice(chunkKeyPrefix.length) as ChunkId, entry });
    result.set(entry.segmentNumber, list);
  }
  return result;
}

/** Returns bytes copied, or undefined when a chunk could not be read (left for scrub). */
async function compactSegment(host: GcHost, segment: SegmentFile, live: readonly Located[]): Promise<number | undefined> {
  const moves: Array<Located & { placement: Placement }> = [];
  let window: Array<Promise<void>> = [];
  let windowBytes = 0;
  let copied = 0;
  for (const item of live) {
    const ciphertext = await host.readVerified(item.id, item.entry).catch(() => undefined);
    if (ciphertext === undefined) {
      await Promise.all(window);
      return undefined;
    }
    window.push(host.relocate(item.id, ciphertext).then((placement) => { moves.push({ ...item, placement }); }));
    windowBytes += ciphertext.length;
    copied += recordBytesOf(ciphertext.length);
    if (windowBytes >= host.limits.gcCopyWindowBytesMax) {
      await Promise.all(window);
      window = [];
      windowBytes = 0;
    }
  }
  await Promise.all(window);
  await switchEntries(host, segment.segmentNumber, moves);
  host.segments.delete(segment.segmentNumber);
  await segment.retire(host.directory);
  return copied;
}

async function switchEntries(host: GcHost, segmentNumber: number, moves: ReadonlyArray<Located & { placement: Placement }>): Promise<void> {
  for (let start = 0; start < moves.length || start === 0; start += sliceSize) {
    const slice = moves.slice(start, start + sliceSize);
    await host.indexLock.run(async () => {
      const current = await Promise.all(slice.map((move) => host.entryOf(move.id)));
      const ops: MetaOp[] = [];
      slice.forEach((move, index) => {
        const entry = current[index];
        // Only GC deletes entries and nothing appends to a sealed segment, so the entry is where
        // the scan saw it; commits may have changed its count, which is kept.
        assert(entry !== undefined && entry.segmentNumber === segmentNumber && entry.offset === move.entry.offset,
          `chunk ${move.id} moved while its segment ${segmentNumber} was being compacted`);
        const switched = { ...entry, segmentNumber: move.placement.segmentNumber, offset: move.placement.offset };
        ops.push({ type: 'put', key: chunkKeyOf(move.id), value: encodeChunkEntryV1(switched) });
      });
      await host.meta.batch(ops);
      host.forgetLocations(slice.map((move) => move.id));
    });
    if (moves.length === 0) break;
  }
}
