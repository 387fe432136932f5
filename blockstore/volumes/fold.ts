// Folding: the background step that turns the overlay's dirty blocks into sealed chunks and block
// map entries (issue 4: "folded into full blocks in the background"). One fold at a time per
// volume: rotate (the active overlay and journal freeze, fresh ones take new writes — one
// synchronous step, see volume.ts), seal and put every frozen block outside any lock, then one
// atomic chunks.commit: reference deltas, map entries and "journals ≤ N are folded". Only after
// that commit is journal N deleted, so a crash at any point leaves either the journal or the map.
import { assert } from '../../dedup/index.js';
import type { MappedBlock } from './block-map.js';
import type { ChunkId, ChunkStore, MetaOp, MetaStore } from './deps.js';
import { journalKeyOf } from './journal-format.js';
import { JournalWriter, type JournalStore } from './journal.js';
import { foldPutsInflightMax, foldSealsPerTurnMax } from './limits.js';
import type { Mutex } from './mutex.js';
import { blockKey, encodeJson, journalStateKey, type BlockEntryCodec, type BlockRef, type LayerId, type VolumeId } from './records.js';
import { sealBlock } from './seal.js';
import { chunkOf, isZeroBlock, type Dirty, type Volume, type VolumeCore } from './volume.js';
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

  /** `obsolete`: replayed journals whose records are in the overlay; gone after the next fold. */
  constructor(private readonly deps: FoldDeps, readonly volumeId: VolumeId, private readonly salt: () => Buffer,
    private nextJournal: number, private obsolete: number[]) {}

  get chunks(): ChunkStore { return this.deps.chunks; }

  newJournal(previous: Promise<void>): { writer: JournalWriter; key: Buffer } {
    const number = this.nextJournal++;
    const file = this.deps.journals.create(this.volumeId, number);
    const writer = new JournalWriter(number, file, previous);
    return { writer, key: journalKeyOf(this.deps.masterKey, this.volumeId, number) };
  }

  /** `final`: the volume is closing; fold it anyway and open no new journal. */
  fold(volume: Volume, final = false): Promise<void> {
    return this.lock.run(() => this.foldLocked(volume, final));
  }

  async store(plaintext: Buffer): Promise<MappedBlock> {
    const chunk = await sealBlock(plaintext, this.salt());
    await this.deps.chunks.put(chunk.id, chunk.ciphertext);
    return { id: chunk.id, key: chunk.key };
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
    const closing = old.close();
    closing.catch(() => undefined); // awaited below; this only marks it handled meanwhile
    if (!final) {
      const { writer, key } = this.newJournal(closing);
      volume.switchJournal(writer, key);
    }
    try {
      const { refs, putIds } = await this.sealAll(frozen, () => volume.foldProgress());
      await this.deps.metaLock.run(() => this.commit(volume, refs, [...putIds, ...pinned], old.journalNumber));
    } finally {
      volume.frozen = undefined;
    }
    await closing;
    for (const number of [...this.obsolete, old.journalNumber]) await this.deps.journals.remove(this.volumeId, number);
    this.obsolete = [];
  }

  private async sealAll(frozen: Map<number, Dirty>, onPut: () => void): Promise<{ refs: Map<number, BlockRef>; putIds: Set<ChunkId> }> {
    const refs = new Map<number, BlockRef>();
    const putIds = new Set<ChunkId>();
    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    const salt = this.salt();
    let sealed = 0;
    for (const [index, dirty] of frozen) {
      if (dirty === 'zero') { refs.set(index, null); continue; }
      const written = chunkOf(dirty, () => undefined);
      if (written) { refs.set(index, written); continue; } // put by the write
      assert(dirty instanceof Buffer, 'a dirty block is a hole, a chunk or a buffer');
      if (isZeroBlock(dirty)) { refs.set(index, null); continue; }
      // Sealing is synchronous CPU work (~0.2 ms a block): yield to the event loop between small
      // runs so writers and readers are served while a fold runs (setImmediate, not a timer).
      if (++sealed % foldSealsPerTurnMax === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = await sealBlock(dirty, salt);
      refs.set(index, { id: chunk.id, key: chunk.key });
      if (putIds.has(chunk.id)) continue;
      putIds.add(chunk.id);
      const put: Promise<void> = this.deps.chunks.put(chunk.id, chunk.ciphertext)
        .catch((error: unknown) => { failure ??= error; }).finally(() => { inflight.delete(put); onPut(); });
      inflight.add(put);
      if (inflight.size >= foldPutsInflightMax) await Promise.race(inflight);
      if (failure) break;
    }
    await Promise.all(inflight);
    if (failure) {
      this.deps.chunks.unpin(putIds);
      throw failure;
    }
    return { refs, putIds };
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
