// Folding: the background step that turns the overlay's dirty blocks into block map entries
// (issue 4: "folded into full blocks in the background"). One fold at a time per volume: rotate
// (the active overlay and journal freeze, fresh ones take new writes — one synchronous step, see
// volume.ts); then, outside any lock, each block whose pages are journaled is merged over its
// base once (the map's chunk or zeros, then every journaled page) and sealed and put, while
// blocks written whole are already chunks; then one atomic chunks.commit: reference deltas, map
// entries and "journals ≤ N are folded". Only after that commit is journal N closed (after the
// reads that found a page in it) and deleted, so a crash at any point leaves the journal or the map.
import { assert, type SealedChunk } from '../../dedup/index.js';
import type { ChunkId, ChunkStore, Leased, MetaOp, MetaStore } from './deps.js';
import { journalKeyOf } from './journal-format.js';
import { JournalWriter, type JournalSource, type JournalStore, type ReplayedJournal } from './journal.js';
import { foldPutsInflightMax, volumeBlockBytes, volumePageBytes } from './limits.js';
import type { Mutex } from './mutex.js';
import { blockKey, encodeJson, journalStateKey, type BlockEntryCodec, type BlockRef, type LayerId, type VolumeId } from './records.js';
import { mappedOf, putLeased, sealBlock } from './seal.js';
import { DirtyPages, isZeroBlock, type Dirty, type Volume, type VolumeCore } from './volume.js';
import { Mutex as FoldMutex } from './mutex.js';

export interface FoldDeps {
  chunks: ChunkStore;
  meta: MetaStore;
  codec: BlockEntryCodec;
  /** The service-wide lock under which every layer and block map change commits. */
  metaLock: Mutex;
  journals: JournalStore;
  masterKey: Buffer;
}

export class Folder implements VolumeCore {
  private readonly lock = new FoldMutex();
  /** Journals replayed at open whose records the overlay points into; gone after the next fold. */
  private obsolete: ReplayedJournal[] = [];

  constructor(private readonly deps: FoldDeps, readonly volumeId: VolumeId, private readonly salt: () => Buffer,
    private nextJournal: number) {}

  get chunks(): ChunkStore { return this.deps.chunks; }

  newJournal(previous: Promise<void>): JournalWriter {
    const number = this.nextJournal++;
    const file = this.deps.journals.create(this.volumeId, number);
    return new JournalWriter(number, file, previous, journalKeyOf(this.deps.masterKey, this.volumeId, number));
  }

  adoptReplayed(journal: ReplayedJournal): void {
    this.obsolete.push(journal);
  }

  /** `final`: the volume is closing; fold it anyway and open no new journal. */
  fold(volume: Volume, final = false): Promise<void> {
    return this.lock.run(() => this.foldLocked(volume, final));
  }

  seal(plaintext: Buffer): Promise<Leased<SealedChunk>> {
    return sealBlock(plaintext, this.salt());
  }

  /** Folds everything, then runs `after` under the fold lock and the meta lock (snapshots). */
  foldThen<T>(volume: Volume, after: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      await this.foldLocked(volume);
      return this.deps.metaLock.run(after);
    });
  }

  private async foldLocked(volume: Volume, final = false): Promise<void> {
    const old = volume.journal;
    assert(old !== undefined && volume.frozen === undefined, 'one fold at a time, on a writable volume');
    if ((volume.closed && !final) || (volume.active.size === 0 && old.bytes === 0 && this.obsolete.length === 0)) return;
    // Rotation: synchronous, so no write lands between the overlay switch and the journal switch.
    const frozen = volume.active;
    const pinned = volume.pinned;
    volume.active = new Map();
    volume.pinned = [];
    volume.frozen = frozen;
    const synced = old.sync();
    synced.catch(() => undefined); // the next journal's syncs wait for it; close() below reports it
    if (!final) volume.switchJournal(this.newJournal(synced));
    try {
      const { refs, putIds } = await this.foldBlocks(volume, frozen, () => volume.foldProgress());
      await volume.settlePuts(); // refs of acked whole-block writes: commit only durable chunks
      if (volume.failure) throw volume.failure;
      await this.deps.metaLock.run(() => this.commit(volume, refs, [...putIds, ...pinned], old.journalNumber));
    } finally {
      volume.frozen = undefined;
    }
    await old.close();
    for (const journal of this.obsolete) await journal.close();
    for (const number of [...this.obsolete.map((journal) => journal.journalNumber), old.journalNumber]) {
      await this.deps.journals.remove(this.volumeId, number);
    }
    this.obsolete = [];
  }

  /** Map entries for every frozen block; blocks with journaled pages are merged, sealed and put,
   * foldPutsInflightMax at a time (so the chunk store group-commits them). */
  private async foldBlocks(volume: Volume, frozen: Map<number, Dirty>, onPut: () => void): Promise<{ refs: Map<number, BlockRef>; putIds: Set<ChunkId> }> {
    const refs = new Map<number, BlockRef>();
    const putIds = new Set<ChunkId>();
    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    const salt = this.salt();
    for (const [index, dirty] of frozen) {
      if (failure) break;
      if (dirty === 'zero') refs.set(index, null);
      else if (!(dirty instanceof DirtyPages)) refs.set(index, dirty); // put by the write
      else {
        const job: Promise<void> = this.foldBlock(volume, index, dirty, salt, putIds)
          .then((ref) => { refs.set(index, ref); }, (error: unknown) => { failure ??= error; })
          .finally(() => { inflight.delete(job); onPut(); });
        inflight.add(job);
        if (inflight.size >= foldPutsInflightMax) await Promise.race(inflight);
      }
    }
    await Promise.all(inflight);
    if (failure) {
      this.deps.chunks.unpin(putIds);
      throw failure;
    }
    return { refs, putIds };
  }

  private async foldBlock(volume: Volume, index: number, dirty: DirtyPages, salt: Buffer, putIds: Set<ChunkId>): Promise<BlockRef> {
    // The frozen overlay is the lowest one: 'below' is the map.
    const base = dirty.base === 'below' ? volume.map.visible(index) : dirty.base === 'zero' ? undefined : dirty.base;
    const block = base ? await volume.blockToMerge(base) : Buffer.alloc(volumeBlockBytes);
    const payloads = new Map<JournalSource, Map<number, Promise<Buffer>>>(); // a record's pages decrypt it once
    await Promise.all([...dirty.pages].map(async ([page, state]) => {
      const at = page * volumePageBytes;
      if (state === 'zero') { block.fill(0, at, at + volumePageBytes); return; }
      let bySource = payloads.get(state.source);
      if (!bySource) payloads.set(state.source, (bySource = new Map()));
      let payload = bySource.get(state.at);
      if (!payload) bySource.set(state.at, (payload = state.payload()));
      (await payload).copy(block, at, state.skip, state.skip + volumePageBytes);
    }));
    if (isZeroBlock(block)) return null;
    const sealed = await sealBlock(block, salt);
    const chunk = sealed.value;
    if (!putIds.has(chunk.id)) {
      putIds.add(chunk.id);
      await putLeased(this.deps.chunks, sealed);
    } else {
      sealed.release();
    }
    return mappedOf(chunk);
  }

  /** `pins`: one id per pin this overlay's chunks hold (repeats for repeated puts). */
  private async commit(volume: Volume, refs: Map<number, BlockRef>, pins: ChunkId[], foldedThrough: number): Promise<void> {
    const map = volume.map;
    const head: LayerId = map.head;
    const deltas = new Map<ChunkId, number>();
    const add = (id: ChunkId, delta: number) => deltas.set(id, (deltas.get(id) ?? 0) + delta);
    const ops: MetaOp[] = [];
    for (const [index, ref] of refs) {
      const previous = map.own.get(index);
      if (previous) add(previous.id, -1);
      if (ref) {
        add(ref.id, 1);
        ops.push({ type: 'put', key: blockKey(head, index), value: this.deps.codec.encode(ref) });
      } else if (map.ancestorHas(index)) {
        ops.push({ type: 'put', key: blockKey(head, index), value: this.deps.codec.encode(null) });
      } else if (previous !== undefined) {
        ops.push({ type: 'del', key: blockKey(head, index) });
      }
    }
    ops.push({ type: 'put', key: journalStateKey(this.volumeId), value: encodeJson({ version: 1, foldedThrough }) });
    for (const [id, delta] of deltas) if (delta === 0) deltas.delete(id);
    await this.deps.chunks.commit(deltas, ops);
    // commit released one pin per positive delta; every other pin we hold is released here.
    const releasedByCommit = new Set<ChunkId>();
    this.deps.chunks.unpin(pins.filter((id) => {
      if ((deltas.get(id) ?? 0) <= 0 || releasedByCommit.has(id)) return true;
      releasedByCommit.add(id);
      return false;
    }));
    for (const [index, ref] of refs) {
      if (ref) map.own.set(index, ref);
      else if (map.ancestorHas(index)) map.own.set(index, null);
      else map.own.delete(index);
    }
  }
}
