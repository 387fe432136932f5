// ChunkStore on append-only segment files, indexed in the shared MetaStore ('c/<id>' → ChunkEntryV1).
// Read first: chunk-store.ts (contract), then segment-format.ts, segment-writer.ts, recovery.ts, gc.ts.
//
// Concurrency, in one place:
// - put: pins the id and checks `doomed` in the same tick; concurrent puts of one id share one
//   append (`inflight`); appends group-commit in SegmentWriter.
// - commit and GC's index changes run under `indexLock`, so every read-modify-write of an entry
//   sees the previous one. Commits queued while the lock is held coalesce into one batch.
// - GC marks the ids it is about to delete in `doomed` (checking pins in the same tick); a put
//   that meets a doomed id waits for the delete and appends afresh.
import { AssertionError, assert } from '../../dedup/errors.js';
import type { SealedChunk } from '../../dedup/index.js';
import { assertValidBatch, type MetaOp, type MetaStore } from '../meta/meta-store.js';
import { assertChunkId, chunkIdOf, type ChunkId } from './chunk-id.js';
import { assertChunkRange, type ChunkStore, type ChunkStoreStats, type GcResult, type Leased, type ScrubResult } from './chunk-store.js';
import { ReadBuffers } from './read-buffers.js';
import { nodeDisk, type Disk } from './disk.js';
import { ChunkStoreError, isChunkStoreError } from './errors.js';
import { runGc, type GcHost } from './gc.js';
import { resolveLimits, type ChunkStoreLimits } from './limits.js';
import { Mutex } from './mutex.js';
import { Pins } from './pins.js';
import { recoverSegments } from './recovery.js';
import type { SegmentFile } from './segment-file.js';
import {
  chunkKeyEnd, chunkKeyOf, chunkKeyPrefix, decodeChunkEntryV1, decodeRecordHeader, encodeChunkEntryV1,
  recordBytesOf, recordHeaderBytes, type ChunkEntryV1,
} from './segment-format.js';
import { IndexLookups } from './index-lookups.js';
import { LocationCache, type ChunkLocation } from './location-cache.js';
import { SegmentWriter, type Placement } from './segment-writer.js';

export interface OpenChunkStoreOptions {
  dir: string;
  meta: MetaStore;
  limits?: Partial<ChunkStoreLimits>;
  /** File system; tests pass a simulated faulty disk. */
  disk?: Disk;
}

interface CommitRequest {
  refDeltas: ReadonlyMap<ChunkId, number>;
  metaOps: readonly MetaOp[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export async function openChunkStore(options: OpenChunkStoreOptions): Promise<SegmentChunkStore> {
  const limits = resolveLimits(options.limits);
  const disk = options.disk ?? nodeDisk;
  const recovered = await recoverSegments(disk, options.dir, options.meta, limits);
  const store = new SegmentChunkStore(disk, options.dir, options.meta, limits, recovered.segments, recovered.active);
  store.recovery = { chunksRecovered: recovered.chunksRecovered, bytesTruncated: recovered.bytesTruncated };
  return store;
}

export class SegmentChunkStore implements ChunkStore, GcHost {
  readonly pins = new Pins();
  readonly doomed = new Map<ChunkId, Promise<void>>();
  readonly indexLock = new Mutex();
  /** What the last open recovered from the segment tail. */
  recovery = { chunksRecovered: 0, bytesTruncated: 0 };
  private readonly inflight = new Map<ChunkId, Promise<void>>();
  private readonly writer: SegmentWriter;
  private readonly lookups: IndexLookups;
  private readonly locations: LocationCache;
  private readonly readBuffers: ReadBuffers;
  private readonly commitQueue: CommitRequest[] = [];
  private commitScheduled: Promise<void> | undefined;
  private gcRunning: Promise<GcResult> | undefined;
  private failure: unknown;
  private closed = false;

  constructor(
    disk: Disk,
    readonly directory: string,
    readonly meta: MetaStore,
    readonly limits: ChunkStoreLimits,
    readonly segments: Map<number, SegmentFile>,
    active: SegmentFile,
  ) {
    this.lookups = new IndexLookups(meta, limits.indexLookupKeysMax);
    this.locations = new LocationCache(limits.locationCacheEntriesMax);
    this.readBuffers = new ReadBuffers(limits.readBufferBytes, limits.readBuffersPooledMax);
    this.writer = new SegmentWriter(disk, directory, meta, limits, segments, active, (error) => this.fail(error));
  }

  get groupsCommitted(): number {
    return this.writer.groupsCommitted;
  }

  /** MetaStore.getMany calls made for index lookups; tests read it to prove sharing. */
  get lookupCallsIssued(): number {
    return this.lookups.callsIssued;
  }

  put(id: ChunkId, ciphertext: Uint8Array): Promise<void> {
    try {
      this.checkPut(id, ciphertext);
      const actual = chunkIdOf(ciphertext);
      assert(actual === id, `chunk id ${id} does not match sha256(ciphertext) ${actual}`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.putChecked(id, ciphertext);
  }

  putSealed(chunk: SealedChunk): Promise<void> {
    try {
      this.checkPut(chunk.id, chunk.ciphertext);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.putChecked(chunk.id, chunk.ciphertext);
  }

  private checkPut(id: ChunkId, ciphertext: Uint8Array): void {
    this.checkUsable();
    assertChunkId(id);
    assert(ciphertext instanceof Uint8Array, 'ciphertext must be a Uint8Array');
    assert(ciphertext.length <= this.limits.chunkCiphertextBytesMax, `chunk of ${ciphertext.length} bytes exceeds chunkCiphertextBytesMax`);
  }

  private async putChecked(id: ChunkId, ciphertext: Uint8Array): Promise<void> {
    this.pins.pin(id); // same tick as the doomed check below, see header
    for (let attempt = 0; attempt < 3; attempt++) {
      const doomed = this.doomed.get(id);
      if (doomed !== undefined) { await doomed; continue; }
      const inflight = this.inflight.get(id);
      if (inflight !== undefined) return inflight;
      const epoch = this.locations.epoch;
      const appending = this.writer.append(id, ciphertext, true).then((placement) => {
        if (placement !== undefined) this.locations.remember(id, { ...placement, ciphertextBytes: ciphertext.length }, epoch);
      });
      this.inflight.set(id, appending);
      try {
        return await appending;
      } finally {
        this.inflight.delete(id);
      }
    }
    throw new AssertionError(`put of ${id} met a GC delete twice although pinned`);
  }

  async get(id: ChunkId): Promise<Buffer> {
    this.checkUsable();
    assertChunkId(id);
    return this.readLocated(id, (entry) => this.readVerified(id, entry));
  }

  async readCiphertext(id: ChunkId, offset: number, length: number): Promise<Buffer> {
    this.checkSlice(id, offset, length);
    return this.readLocated(id, (entry) => this.readRange(id, entry, offset, length));
  }

  async readCiphertextLeased(id: ChunkId, offset: number, length: number): Promise<Leased<Buffer>> {
    this.checkSlice(id, offset, length); // before a buffer is taken for a length it refuses
    const buffer = this.readBuffers.take(recordHeaderBytes + length);
    try {
      return { value: await this.readLocated(id, (entry) => this.readRange(id, entry, offset, length, buffer.value)), release: buffer.release };
    } catch (error) {
      buffer.release();
      throw error;
    }
  }

  /** readCiphertext's preconditions, for both forms. */
  private checkSlice(id: ChunkId, offset: number, length: number): void {
    this.checkUsable();
    assertChunkId(id);
    assertChunkRange(offset, length);
  }

  /**
   * Finds the chunk (cached location, else the index) and reads it with `read`. A cached
   * location that fails for any reason is forgotten and the index asked; an entry whose segment
   * GC retired meanwhile (`read` answers undefined) is looked up again.
   */
  private async readLocated(id: ChunkId, read: (entry: ChunkLocation) => Promise<Buffer | undefined>): Promise<Buffer> {
    const cached = this.locations.get(id);
    if (cached !== undefined) {
      const bytes = await read(cached).catch(() => undefined);
      if (bytes !== undefined) return bytes;
      this.locations.forget([id]); // whatever went wrong, the index has the last word
    }
    const epoch = this.locations.epoch;
    let entry = await this.entryOf(id);
    for (let attempt = 0; attempt < 4; attempt++) {
      if (entry === undefined) throw new ChunkStoreError('ChunkMissing', `chunk ${id} is not in the index`);
      const bytes = await read(entry);
      if (bytes !== undefined) {
        this.locations.remember(id, entry, epoch);
        return bytes;
      }
      // The segment was retired by GC after we read the entry: the entry has moved.
      const moved = await this.entryOf(id);
      if (moved !== undefined && moved.segmentNumber === entry.segmentNumber && moved.offset === entry.offset) {
        throw new ChunkStoreError('ChunkMissing', `segment ${entry.segmentNumber} holding chunk ${id} is gone`);
      }
      entry = moved;
    }
    throw new ChunkStoreError('ChunkMissing', `chunk ${id} kept moving while being read`);
  }

  async has(id: ChunkId): Promise<boolean> {
    this.checkUsable();
    assertChunkId(id);
    return (await this.entryOf(id)) !== undefined;
  }

  commit(refDeltas: ReadonlyMap<ChunkId, number>, metaOps: readonly MetaOp[]): Promise<void> {
    try {
      this.checkUsable();
      assertValidCommit(refDeltas, metaOps, this.limits);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.commitQueue.push({ refDeltas, metaOps, resolve, reject });
      this.scheduleCommits();
    });
  }

  unpin(ids: Iterable<ChunkId>): void {
    for (const id of ids) this.pins.release(id);
  }

  async refCount(id: ChunkId): Promise<number> {
    this.checkUsable();
    assertChunkId(id);
    return (await this.entryOf(id))?.refCount ?? 0;
  }

  gc(): Promise<GcResult> {
    this.checkUsable();
    // One collection at a time: a second caller shares the running one's result.
    if (this.gcRunning === undefined) {
      this.gcRunning = runGc(this).finally(() => { this.gcRunning = undefined; });
    }
    return this.gcRunning;
  }

  async scrub(): Promise<ScrubResult> {
    this.checkUsable();
    const result: ScrubResult = { chunksChecked: 0, corrupt: [], missing: [] };
    let window: ChunkId[] = [];
    const checkWindow = async (): Promise<void> => {
      await Promise.all(window.map((id) => this.scrubOne(id, result)));
      window = [];
    };
    for await (const [key] of this.meta.iterate({ gte: chunkKeyPrefix, lt: chunkKeyEnd })) {
      window.push(key.slice(chunkKeyPrefix.length) as ChunkId);
      if (window.length >= this.limits.readConcurrencyMax) await checkWindow();
    }
    await checkWindow();
    return result;
  }

  async stats(): Promise<ChunkStoreStats> {
    this.checkUsable();
    let chunks = 0;
    let liveBytes = 0;
    for await (const [key, value] of this.meta.iterate({ gte: chunkKeyPrefix, lt: chunkKeyEnd })) {
      const entry = decodeEntry(key, value);
      chunks++;
      if (entry.refCount > 0 || this.pins.has(key.slice(chunkKeyPrefix.length) as ChunkId)) liveBytes += entry.ciphertextBytes;
    }
    let segmentBytes = 0;
    for (const segment of this.segments.values()) segmentBytes += segment.size;
    return { chunks, liveBytes, segmentBytes, segments: this.segments.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.idle();
    while (this.commitScheduled !== undefined) await this.commitScheduled;
    while (this.gcRunning !== undefined) await this.gcRunning.catch(() => undefined);
    await this.writer.idle();
    for (const segment of this.segments.values()) await segment.close();
  }

  // GcHost ---------------------------------------------------------------------------------

  activeSegmentNumber(): number {
    return this.writer.active.segmentNumber;
  }

  indexedSealedBelow(): number {
    return this.writer.indexedSealedBelow();
  }

  forgetLocations(ids: readonly ChunkId[]): void {
    this.locations.forget(ids);
  }

  /** Chunk locations get() holds in memory; tests read it. */
  get locationsCached(): number {
    return this.locations.size;
  }

  relocate(id: ChunkId, ciphertext: Buffer): Promise<Placement> {
    return this.writer.append(id, ciphertext, false);
  }

  async entryOf(id: ChunkId): Promise<ChunkEntryV1 | undefined> {
    const key = chunkKeyOf(id);
    const value = await this.lookups.get(key);
    return value === undefined ? undefined : decodeEntry(key, value);
  }

  /**
   * Ciphertext bytes [offset, offset + length) of one record, not hashed (readCiphertext's
   * contract). From offset 0 the header comes in the same pread and is checked; a range inside
   * the chunk is read alone, and the caller's AEAD tag is what catches a wrong location.
   */
  private async readRange(id: ChunkId, entry: ChunkLocation, offset: number, length: number, into?: Buffer): Promise<Buffer | undefined> {
    if (offset + length > entry.ciphertextBytes) {
      throw new ChunkStoreError('ChunkCorrupt', `range ${offset}+${length} lies outside chunk ${id} of ${entry.ciphertextBytes} bytes`);
    }
    const segment = this.segments.get(entry.segmentNumber);
    if (segment === undefined || !segment.acquire()) return undefined;
    const withHeader = offset === 0;
    const start = withHeader ? entry.offset : entry.offset + recordHeaderBytes + offset;
    const bytes = withHeader ? recordHeaderBytes + length : length;
    let read: Buffer;
    try {
      read = await segment.read(start, bytes, into);
    } finally {
      await segment.release();
    }
    if (read.length < bytes) {
      throw new ChunkStoreError('ChunkMissing', `chunk ${id} lies past the end of segment ${entry.segmentNumber}`);
    }
    if (!withHeader) return read;
    const header = decodeRecordHeader(read);
    if (header === undefined || header.id !== id || header.ciphertextBytes !== entry.ciphertextBytes) {
      throw new ChunkStoreError('ChunkCorrupt', `record header of chunk ${id} in segment ${entry.segmentNumber} is damaged`);
    }
    return read.subarray(recordHeaderBytes);
  }

  /**
   * Positional read of exactly one record, verified: header matches the entry, sha256 matches
   * the id. Undefined when the segment was retired under us (caller re-reads the index).
   */
  async readVerified(id: ChunkId, entry: ChunkLocation): Promise<Buffer | undefined> {
    const segment = this.segments.get(entry.segmentNumber);
    if (segment === undefined || !segment.acquire()) return undefined;
    const recordBytes = recordBytesOf(entry.ciphertextBytes);
    let record: Buffer;
    try {
      record = await segment.read(entry.offset, recordBytes);
    } finally {
      await segment.release();
    }
    if (record.length < recordBytes) {
      throw new ChunkStoreError('ChunkMissing', `chunk ${id} lies past the end of segment ${entry.segmentNumber}`);
    }
    const header = decodeRecordHeader(record);
    if (header === undefined || header.id !== id || header.ciphertextBytes !== entry.ciphertextBytes) {
      throw new ChunkStoreError('ChunkCorrupt', `record header of chunk ${id} in segment ${entry.segmentNumber} is damaged`);
    }
    const ciphertext = record.subarray(recordHeaderBytes, recordHeaderBytes + entry.ciphertextBytes);
    if (chunkIdOf(ciphertext) !== id) {
      throw new ChunkStoreError('ChunkCorrupt', `chunk ${id} in segment ${entry.segmentNumber} fails its sha256`);
    }
    return ciphertext;
  }

  // internals ------------------------------------------------------------------------------

  private async scrubOne(id: ChunkId, result: ScrubResult): Promise<void> {
    try {
      await this.get(id);
    } catch (error) {
      if (isChunkStoreError(error, 'ChunkCorrupt')) result.corrupt.push(id);
      else if (isChunkStoreError(error, 'ChunkMissing')) {
        // Freed by a concurrent gc() between listing and reading: not a loss.
        if ((await this.entryOf(id)) !== undefined) result.missing.push(id);
        else return;
      } else throw error;
    }
    result.chunksChecked++;
  }

  private scheduleCommits(): void {
    if (this.commitScheduled !== undefined || this.commitQueue.length === 0) return;
    this.commitScheduled = this.indexLock.run(async () => {
      const group = this.takeCommitGroup();
      try {
        if (this.sliced(group[0])) await this.commitSliced(group[0]);
        else await this.commitGroup(group);
      } catch (error) {
        this.fail(error);
        for (const request of group) request.reject(error);
      }
    }).finally(() => {
      this.commitScheduled = undefined;
      this.scheduleCommits();
    });
  }

  private takeCommitGroup(): CommitRequest[] {
    const group: CommitRequest[] = [];
    let ops = 0;
    while (this.commitQueue.length > 0 && group.length < this.limits.commitGroupMax) {
      const next = this.commitQueue[0];
      if (this.sliced(next)) {
        if (group.length === 0) group.push(this.commitQueue.shift()!);
        break;
      }
      const nextOps = next.refDeltas.size + next.metaOps.length;
      if (group.length > 0 && ops + nextOps > this.limits.commitOpsMax * 2) break;
      group.push(this.commitQueue.shift()!);
      ops += nextOps;
    }
    return group;
  }

  /** Stages each commit on top of the previous ones; one batch for all that validate. */
  private async commitGroup(group: readonly CommitRequest[]): Promise<void> {
    const current = await this.loadEntries(group.flatMap((request) => [...request.refDeltas].filter(([, delta]) => delta !== 0).map(([id]) => id)));
    const accepted: CommitRequest[] = [];
    const changed = new Set<ChunkId>();
    const ops: MetaOp[] = [];
    for (const request of group) {
      const staged = new Map<ChunkId, ChunkEntryV1>();
      const error = this.stageDeltas(request.refDeltas, current, staged);
      if (error !== undefined) { request.reject(error); continue; }
      for (const [id, entry] of staged) { current.set(id, entry); changed.add(id); }
      ops.push(...request.metaOps);
      accepted.push(request);
    }
    if (accepted.length === 0) return;
    for (const id of changed) ops.push({ type: 'put', key: chunkKeyOf(id), value: encodeChunkEntryV1(current.get(id)!) });
    await this.meta.batch(ops);
    for (const request of accepted) {
      for (const [id, delta] of request.refDeltas) if (delta > 0) this.pins.release(id);
      request.resolve();
    }
  }

  private sliced(request: CommitRequest): boolean {
    return request.refDeltas.size > this.limits.commitSliceIds;
  }

  /**
   * One big commit, alone (see takeCommitGroup): each slice of ids is looked up, staged and
   * encoded into the MetaStore's batch, then dropped, so heap holds one slice, not every id's
   * entry, staged copy and op. Still one atomic batch: a bad delta in any slice writes nothing
   * and rejects only this request; a MetaStore failure propagates (the store fails).
   */
  private async commitSliced(request: CommitRequest): Promise<void> {
    const ids = [...request.refDeltas.keys()];
    const step = this.limits.commitSliceIds;
    let refused: Error | undefined;
    const slices = async function* (this: SegmentChunkStore): AsyncIterable<readonly MetaOp[]> {
      for (let start = 0; start < ids.length; start += step) {
        const { keys, entries } = await this.indexEntriesOf(ids.slice(start, start + step));
        const ops: MetaOp[] = [];
        for (let index = 0; index < keys.length; index++) {
          const id = ids[start + index];
          const delta = request.refDeltas.get(id)!;
          if (delta === 0) continue;
          const next = this.applyDelta(id, entries[index], delta);
          if (next instanceof Error) throw (refused = next);
          ops.push({ type: 'put', key: keys[index], value: encodeChunkEntryV1(next) });
        }
        yield ops;
      }
      yield request.metaOps;
    }.call(this);
    try {
      await this.meta.batchFrom(slices);
    } catch (error) {
      if (refused === undefined) throw error;
      request.reject(refused);
      return;
    }
    for (const [id, delta] of request.refDeltas) if (delta > 0) this.pins.release(id);
    request.resolve();
  }

  private async loadEntries(ids: Iterable<ChunkId>): Promise<Map<ChunkId, ChunkEntryV1 | undefined>> {
    const list = [...new Set(ids)];
    const current = new Map<ChunkId, ChunkEntryV1 | undefined>();
    for (let start = 0; start < list.length; start += this.limits.commitSliceIds) {
      const slice = list.slice(start, start + this.limits.commitSliceIds);
      const { entries } = await this.indexEntriesOf(slice);
      slice.forEach((id, index) => current.set(id, entries[index]));
    }
    return current;
  }

  /**
   * Index entries of `ids` (and their keys), straight from the MetaStore in one getMany. Commits
   * read this way, under indexLock: entryOf's lookup batching costs a promise and closures per id.
   */
  private async indexEntriesOf(ids: readonly ChunkId[]): Promise<{ keys: string[]; entries: (ChunkEntryV1 | undefined)[] }> {
    const keys = ids.map(chunkKeyOf);
    const values = await this.meta.getMany(keys);
    return { keys, entries: values.map((value, index) => (value === undefined ? undefined : decodeEntry(keys[index], value))) };
  }

  private stageDeltas(deltas: Iterable<readonly [ChunkId, number]>, current: ReadonlyMap<ChunkId, ChunkEntryV1 | undefined>, staged: Map<ChunkId, ChunkEntryV1>): Error | undefined {
    for (const [id, delta] of deltas) {
      if (delta === 0) continue;
      const next = this.applyDelta(id, current.get(id), delta);
      if (next instanceof Error) return next;
      staged.set(id, next);
    }
    return undefined;
  }

  /** The entry after `delta`, or the error that refuses the whole commit. */
  private applyDelta(id: ChunkId, entry: ChunkEntryV1 | undefined, delta: number): ChunkEntryV1 | Error {
    if (entry === undefined) {
      return delta > 0
        ? new ChunkStoreError('ChunkMissing', `commit references chunk ${id}, which is not stored (put it first)`)
        : new AssertionError(`commit drops a reference to chunk ${id}, which has none`);
    }
    const refCount = entry.refCount + delta;
    if (refCount < 0) return new AssertionError(`reference count of ${id} would go below 0 (${entry.refCount} ${delta})`);
    if (refCount > this.limits.refCountMax) return new AssertionError(`reference count of ${id} exceeds refCountMax`);
    return { ...entry, refCount };
  }

  private fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error ?? new Error('unknown failure');
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new ChunkStoreError('ChunkStoreFailed', 'chunk store stopped after a disk error; reopen it', { cause: this.failure });
    }
    assert(!this.closed, 'chunk store used after close');
  }
}

function assertValidCommit(refDeltas: ReadonlyMap<ChunkId, number>, metaOps: readonly MetaOp[], limits: ChunkStoreLimits): void {
  assert(refDeltas instanceof Map, 'refDeltas must be a Map');
  assert(refDeltas.size + metaOps.length <= limits.commitOpsMax, 'commit larger than commitOpsMax');
  for (const [id, delta] of refDeltas) {
    assertChunkId(id);
    assert(Number.isSafeInteger(delta), `delta for ${id} must be an integer`);
  }
  assertValidBatch(metaOps);
  for (const op of metaOps) {
    assert(!op.key.startsWith(chunkKeyPrefix) && !op.key.startsWith('cs/'), `metaOp key ${op.key} is in the chunk store's namespace`);
  }
}

function decodeEntry(key: string, value: Buffer): ChunkEntryV1 {
  const entry = decodeChunkEntryV1(value);
  assert(entry !== undefined, `index entry ${key} is not a ChunkEntryV1`);
  return entry;
}
