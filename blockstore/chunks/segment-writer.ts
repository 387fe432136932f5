// The append pipeline: group commit for segment appends. Appends that arrive while a group is
// being written wait and form the next group, so N concurrent puts share one writev, one
// fdatasync and one MetaStore batch (LIMITS.md: ~6k/s with one fsync per op, ~70–100k/s grouped).
// Order inside a group: new chunks already in the index dropped (one getMany for the group) →
// records written → segment(s) fdatasynced → index entries + tail marker in one MetaStore batch.
// An index entry is never durable before the bytes it points at.
import { assert } from '../../dedup/errors.js';
import type { MetaOp, MetaStore } from '../meta/meta-store.js';
import type { ChunkId } from './chunk-id.js';
import type { Disk } from './disk.js';
import { ChunkStoreError } from './errors.js';
import type { ChunkStoreLimits } from './limits.js';
import { SegmentFile } from './segment-file.js';
import {
  chunkKeyOf, encodeChunkEntryV1, encodeRecordFramingInto, encodeTailMarkerV1, recordBytesOf, recordFramingBytes, tailMarkerKey,
} from './segment-format.js';

export interface Placement { segmentNumber: number; offset: number }

interface AppendRequest {
  id: ChunkId;
  ciphertext: Uint8Array;
  /**
   * New chunks are appended only if absent from the index and get an entry (count 0) in the
   * group's batch; GC relocations are always appended and get none.
   */
  createEntry: boolean;
  /** Undefined for a new chunk the index already holds (durable already, nothing written). */
  resolve: (placement: Placement | undefined) => void;
  reject: (error: unknown) => void;
}

export class SegmentWriter {
  private readonly queue: AppendRequest[] = [];
  private queuedBytes = 0;
  private draining: Promise<void> | undefined;
  /** Group commits completed; tests and the bench read it to prove sharing. */
  groupsCommitted = 0;
  /** Segments the groups in flight began in: their index entries may still point below `active`. */
  private readonly groupsInFlight: number[] = [];
  private failed = false;

  constructor(
    private readonly disk: Disk,
    private readonly directory: string,
    private readonly meta: MetaStore,
    private readonly limits: ChunkStoreLimits,
    private readonly segments: Map<number, SegmentFile>,
    public active: SegmentFile,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  append(id: ChunkId, ciphertext: Uint8Array, createEntry: true): Promise<Placement | undefined>;
  append(id: ChunkId, ciphertext: Uint8Array, createEntry: false): Promise<Placement>;
  append(id: ChunkId, ciphertext: Uint8Array, createEntry: boolean): Promise<Placement | undefined> {
    if (this.failed) return Promise.reject(new ChunkStoreError('ChunkStoreFailed', 'segment writer stopped after a disk error; reopen the store'));
    assert(ciphertext.length <= this.limits.chunkCiphertextBytesMax, 'append larger than chunkCiphertextBytesMax');
    return new Promise<Placement | undefined>((resolve, reject) => {
      this.queue.push({ id, ciphertext, createEntry, resolve, reject });
      this.queuedBytes += ciphertext.length;
      if (this.draining === undefined) this.draining = this.drain();
    });
  }

  /**
   * Every segment below this number is sealed AND fully indexed. A group that rolls the segment
   * writes its index entries (for records in the old segment) only after the roll, so `active`
   * alone would let GC compact a segment whose newest entries are not in the index yet.
   */
  indexedSealedBelow(): number {
    return this.groupsInFlight.length > 0 ? Math.min(...this.groupsInFlight) : this.active.segmentNumber;
  }

  /** Resolves when every append queued so far has settled. */
  async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /**
   * Two groups overlap: while group k's index batch syncs in LevelDB, group k+1's records are
   * written and fdatasynced. Each group's own order (bytes durable, then its entries) holds, and
   * index batches are issued one at a time in group order, so the tail marker only moves forward.
   */
  private async drain(): Promise<void> {
    let previousIndexed: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        if (this.queue.length === 0 || this.failed) {
          await previousIndexed; // appends may arrive meanwhile; they must not wait for a new drain
          if (this.queue.length === 0 || this.failed) break;
          continue;
        }
        const group = await this.dropIndexed(this.takeGroup());
        if (group === undefined) break;
        if (group.length === 0) continue;
        const firstSegmentNumber = this.active.segmentNumber;
        this.groupsInFlight.push(firstSegmentNumber);
        let ops: MetaOp[];
        let placements: Placement[];
        try {
          placements = await this.writeGroup(group);
          ops = this.indexOps(group, placements);
        } catch (error) {
          this.stop(error, group);
          break;
        }
        await previousIndexed;
        previousIndexed = this.meta.batch(ops).then(() => {
          this.groupsCommitted++;
          group.forEach((request, index) => request.resolve(placements[index]));
        }, (error: unknown) => this.stop(error, group)).finally(() => {
          this.groupsInFlight.splice(this.groupsInFlight.indexOf(firstSegmentNumber), 1);
        });
      }
    } finally {
      this.draining = undefined;
    }
  }

  /**
   * The file or index may now hold part of a group: stop (fail-stop, STYLE.md §6). Reopening
   * recovers the tail from disk.
   */
  private stop(error: unknown, group: readonly AppendRequest[]): void {
    this.failed = true;
    this.onFailure(error);
    for (const request of group) request.reject(error);
    for (const request of this.queue.splice(0)) request.reject(error);
  }

  /**
   * Resolves (undefined) the new chunks of `group` that the index already holds and returns the
   * rest. One getMany for the whole group: a LevelDB get per put cost ~20–40 µs of main-thread
   * CPU, a key in a getMany ~4 µs. Concurrent puts of one id never reach here together (the
   * store's inflight map), so a chunk absent now stays absent until this group indexes it.
   * Undefined when the lookup failed: the writer has stopped.
   */
  private async dropIndexed(group: AppendRequest[]): Promise<AppendRequest[] | undefined> {
    const checked = group.filter((request) => request.createEntry);
    if (checked.length === 0) return group;
    let values: (Buffer | undefined)[];
    try {
      values = await this.meta.getMany(checked.map((request) => chunkKeyOf(request.id)));
    } catch (error) {
      this.stop(error, group);
      return undefined;
    }
    const present = new Set<AppendRequest>();
    checked.forEach((request, index) => { if (values[index] !== undefined) present.add(request); });
    if (present.size === 0) return group;
    for (const request of present) request.resolve(undefined);
    return group.filter((request) => !present.has(request));
  }

  private takeGroup(): AppendRequest[] {
    const group: AppendRequest[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && group.length < this.limits.groupCommitMax) {
      const next = this.queue[0];
      const nextBytes = recordBytesOf(next.ciphertext.length);
      if (group.length > 0 && bytes + nextBytes > this.limits.groupCommitBytesMax) break;
      group.push(this.queue.shift()!);
      this.queuedBytes -= next.ciphertext.length;
      bytes += nextBytes;
    }
    assert(group.length > 0, 'a group holds at least one append');
    return group;
  }

  /** Writes the group's records (rolling segments as needed) and fdatasyncs every file touched. */
  private async writeGroup(group: readonly AppendRequest[]): Promise<Placement[]> {
    const touched = new Set<SegmentFile>();
    const placements: Placement[] = [];
    let run: Uint8Array[] = [];
    let runStart = this.active.size;
    const framing = Buffer.allocUnsafe(group.length * recordFramingBytes); // every byte is written
    let framingAt = 0;
    for (const request of group) {
      const recordBytes = recordBytesOf(request.ciphertext.length);
      if (this.active.size + recordBytes > this.limits.segmentBytesMax) {
        if (run.length > 0) await this.active.write(run, runStart);
        touched.add(this.active);
        await this.roll();
        run = [];
        runStart = this.active.size;
      }
      const { header, trailer } = encodeRecordFramingInto(request.id, request.ciphertext.length, framing, framingAt);
      framingAt += recordFramingBytes;
      run.push(header, request.ciphertext, trailer);
      placements.push({ segmentNumber: this.active.segmentNumber, offset: this.active.size });
      this.active.size += recordBytes;
      touched.add(this.active);
    }
    if (run.length > 0) await this.active.write(run, runStart);
    await Promise.all([...touched].map((segment) => segment.datasync()));
    assert(placements.length === group.length, 'one placement per append');
    return placements;
  }

  private indexOps(group: readonly AppendRequest[], placements: readonly Placement[]): MetaOp[] {
    const ops: MetaOp[] = [];
    group.forEach((request, index) => {
      if (!request.createEntry) return;
      const { segmentNumber, offset } = placements[index];
      const value = encodeChunkEntryV1({ version: 1, segmentNumber, offset, ciphertextBytes: request.ciphertext.length, refCount: 0 });
      ops.push({ type: 'put', key: chunkKeyOf(request.id), value });
    });
    const tail = encodeTailMarkerV1({ version: 1, segmentNumber: this.active.segmentNumber, offset: this.active.size });
    ops.push({ type: 'put', key: tailMarkerKey, value: tail });
    return ops;
  }

  /** Seals the active segment and starts the next; durable before any record goes into it. */
  private async roll(): Promise<void> {
    const next = await SegmentFile.create(this.disk, this.directory, this.active.segmentNumber + 1);
    this.segments.set(next.segmentNumber, next);
    this.active = next;
  }
}
