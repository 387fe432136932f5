// VolumeService: create/list/info/resize/delete/snapshot/clone of volumes, and the NBD
// ExportRegistry over them (every volume an export, `NAME@SNAP` a read-only snapshot export).
// One Volume object per open volume serves every connection, with one journal: FLUSH on any
// connection covers all of them (canMultiConn). Clock and ids are injected (STYLE.md §8).
import { assert, AssertionError, defaultSaltPolicy, saltIndexFor, type SaltPolicyV1 } from '../../dedup/index.js';
import { loadBlockMap } from './block-map.js';
import type { BlockDevice, ChunkStore, ExportDescription, ExportRegistry, MetaOp, MetaStore } from './deps.js';
import { VolumeError } from './errors.js';
import { Folder } from './fold.js';
import { journalKeyOf, scanJournal } from './journal-format.js';
import { ReplayedJournal, type JournalStore } from './journal.js';
import { Layers } from './layers.js';
import { snapshotsPerVolumeMax, volumeBytesMax, volumeSizeGranuleBytes, volumesMax } from './limits.js';
import { Mutex } from './mutex.js';
import {
  BlockEntryCodec, decodeJournalState, decodeSnapshot, decodeVolume, encodeJson, isValidName, journalStateKey, snapshotKey,
  snapshotPrefix, volumeKey, volumePrefix, type LayerId, type SnapshotRecordV1, type VolumeId, type VolumeRecordV1,
} from './records.js';
import { Volume } from './volume.js';
import { VolumeHandle } from './volume-handle.js';

export interface VolumeServiceDeps {
  meta: MetaStore;
  chunks: ChunkStore;
  journals: JournalStore;
  masterKey: Buffer;
  saltFor(index: number): Buffer;
  clock(): number;
  /** A fresh unique id (hex); volumes and layers never reuse one. */
  newId(): string;
  location: string;
}

export interface VolumeInfo {
  name: string; id: string; sizeBytes: number; createdMs: number; origin?: string;
  snapshots: number; allocatedBytes: number;
}

interface OpenVolume { volume: Volume; folder: Folder; record: VolumeRecordV1 }

export class VolumeService {
  readonly exports: ExportRegistry;
  private readonly metaLock = new Mutex();
  private readonly codec: BlockEntryCodec;
  private readonly layers: Layers;
  private readonly opened = new Map<string, Promise<OpenVolume>>();

  private constructor(private readonly deps: VolumeServiceDeps) {
    this.codec = new BlockEntryCodec(deps.masterKey);
    this.layers = new Layers(deps.meta, deps.chunks, this.codec, (layer) => this.reloadHead(layer));
    this.exports = { list: () => this.exportList(), open: (name) => this.openExport(name) };
  }

  static async open(deps: VolumeServiceDeps): Promise<VolumeService> {
    const service = new VolumeService(deps);
    await service.metaLock.run(() => service.layers.resumeCollapses());
    // An unfolded journal may name chunks held only by pins, which died with the last process:
    // fold them now, before anything (the GC timer) can collect those chunks.
    for (const record of await service.records()) {
      const { foldedThrough } = decodeJournalState(await deps.meta.get(journalStateKey(record.id)));
      if ((await deps.journals.list(record.id)).some((number) => number > foldedThrough)) await service.openVolume(record.name);
    }
    return service;
  }

  async create(name: string, sizeBytes: number, saltPolicy: SaltPolicyV1 = defaultSaltPolicy): Promise<VolumeInfo> {
    checkName(name);
    checkSize(sizeBytes);
    await this.metaLock.run(async () => {
      if (await this.deps.meta.get(volumeKey(name))) throw new VolumeError('VolumeExists', `volume ${name} exists`);
      if ((await this.records()).length >= volumesMax) throw new VolumeError('TooManyVolumes', `at most ${volumesMax} volumes`);
      const head = this.deps.newId() as LayerId;
      const record: VolumeRecordV1 = {
        version: 1, name, id: this.deps.newId() as VolumeId, sizeBytes, head, saltPolicy: { ...saltPolicy }, owner: 'root', createdMs: this.deps.clock(),
      };
      await this.deps.meta.batch([...this.layers.newLayerOps(head, null), { type: 'put', key: volumeKey(name), value: encodeJson(record) }]);
    });
    return this.info(name);
  }

  async list(): Promise<VolumeInfo[]> {
    return Promise.all((await this.records()).map((record) => this.info(record.name)));
  }

  async info(name: string): Promise<VolumeInfo> {
    const record = await this.record(name);
    const open = await this.opened.get(name)?.catch(() => undefined);
    const map = open ? open.volume.map : await loadBlockMap(this.deps.meta, this.codec, record.head);
    const dirty = open ? open.volume.dirtyBlocks * volumeSizeGranuleBytes : 0;
    return {
      name, id: record.id, sizeBytes: record.sizeBytes, createdMs: record.createdMs, ...(record.origin ? { origin: record.origin } : {}),
      snapshots: (await this.snapshots(name)).length, allocatedBytes: map.mappedBlocks() * volumeSizeGranuleBytes + dirty,
    };
  }

  async snapshots(name: string): Promise<SnapshotRecordV1[]> {
    await this.record(name);
    const prefix = snapshotPrefix(name);
    const found: SnapshotRecordV1[] = [];
    for await (const [, value] of this.deps.meta.iterate({ gte: prefix, lt: `${prefix}\uffff`, limit: snapshotsPerVolumeMax })) found.push(decodeSnapshot(value));
    return found;
  }

  /** Growing exposes zeros; shrinking first zeroes the cut-off range (through the journal), so
   * a later grow cannot resurface old blocks. Open handles keep their size; new ones see this. */
  async resize(name: string, sizeBytes: number): Promise<VolumeInfo> {
    checkSize(sizeBytes);
    const { volume } = await this.openVolume(name);
    const old = volume.sizeBytes;
    if (sizeBytes < old) {
      await volume.writeZeroes(sizeBytes, old - sizeBytes, { fua: true, noHole: false, fastZero: false });
    }
    await this.metaLock.run(async () => {
      const record = await this.record(name);
      await this.deps.meta.batch([{ type: 'put', key: volumeKey(name), value: encodeJson({ ...record, sizeBytes }) }]);
    });
    volume.sizeBytes = sizeBytes;
    return this.info(name);
  }

  /** Deletes the volume and its snapshots; clones made from them keep what they share. */
  async delete(name: string): Promise<void> {
    const record = await this.record(name);
    const snapshots = await this.snapshots(name);
    const open = await this.opened.get(name)?.catch(() => undefined);
    this.opened.delete(name);
    if (open) {
      open.volume.closed = true;
      await open.folder.fold(open.volume).catch(() => undefined); // waits for a running fold; closed ⇒ no new one
      await open.volume.journal?.close().catch(() => undefined);
      this.deps.chunks.unpin(open.volume.pinned.splice(0)); // their journal goes with the volume
    }
    await this.metaLock.run(async () => {
      for (const snapshot of snapshots) await this.layers.release(snapshot.layer, [{ type: 'del', key: snapshotKey(name, snapshot.name) }]);
      await this.layers.release(record.head, [{ type: 'del', key: volumeKey(name) }, { type: 'del', key: journalStateKey(record.id) }]);
    });
    for (const number of await this.deps.journals.list(record.id)) await this.deps.journals.remove(record.id, number);
  }

  /** Instant and consistent: folds what is journaled (bounded by dirtyBytesMax), then freezes the
   * head layer in one atomic batch. Writes completed before the call are in; later ones are not. */
  async snapshot(name: string, snap: string): Promise<SnapshotRecordV1> {
    checkName(snap);
    const open = await this.openVolume(name);
    return open.folder.foldThen(open.volume, async () => {
      if (await this.deps.meta.get(snapshotKey(name, snap))) throw new VolumeError('SnapshotExists', `snapshot ${name}@${snap} exists`);
      const record = await this.record(name);
      const layer = await this.layers.get(record.head);
      const head = this.deps.newId() as LayerId;
      const snapshot: SnapshotRecordV1 = { version: 1, volume: name, name: snap, layer: record.head, sizeBytes: record.sizeBytes, createdMs: this.deps.clock() };
      const ops: MetaOp[] = this.layers.newLayerOps(head, layer); // the snapshot takes over the volume's hold
      ops.push({ type: 'put', key: snapshotKey(name, snap), value: encodeJson(snapshot) });
      ops.push({ type: 'put', key: volumeKey(name), value: encodeJson({ ...record, head }) });
      await this.deps.meta.batch(ops);
      const map = open.volume.map;
      for (const [index, entry] of map.own) entry ? map.base.set(index, entry) : map.base.delete(index);
      map.own = new Map();
      map.head = head;
      open.record = { ...record, head };
      return snapshot;
    });
  }

  async deleteSnapshot(name: string, snap: string): Promise<void> {
    await this.metaLock.run(async () => {
      const snapshot = await this.snapshotRecord(name, snap);
      await this.layers.release(snapshot.layer, [{ type: 'del', key: snapshotKey(name, snap) }]);
    });
  }

  async clone(name: string, snap: string, target: string): Promise<VolumeInfo> {
    checkName(target);
    await this.metaLock.run(async () => {
      const snapshot = await this.snapshotRecord(name, snap);
      if (await this.deps.meta.get(volumeKey(target))) throw new VolumeError('VolumeExists', `volume ${target} exists`);
      const source = await this.record(name);
      const layer = await this.layers.get(snapshot.layer);
      const head = this.deps.newId() as LayerId;
      const record: VolumeRecordV1 = {
        version: 1, name: target, id: this.deps.newId() as VolumeId, sizeBytes: snapshot.sizeBytes, head, saltPolicy: source.saltPolicy,
        owner: source.owner, createdMs: this.deps.clock(), origin: `${name}@${snap}`,
      };
      await this.deps.meta.batch([...this.layers.newLayerOps(head, layer), { type: 'put', key: volumeKey(target), value: encodeJson(record) }]);
    });
    return this.info(target);
  }

  /** Closes every open volume after a last fold (bounded by dirtyBytesMax): whole-block writes'
   * chunks are held by in-memory pins until folded, so a clean close leaves nothing pinned. */
  async close(): Promise<void> {
    const opened = [...this.opened.values()];
    this.opened.clear();
    for (const pending of opened) {
      const open = await pending.catch(() => undefined);
      if (!open) continue;
      open.volume.closed = true;
      await open.folder.fold(open.volume, true).catch(() => undefined); // after a running fold
      await open.volume.journal?.close().catch(() => undefined);
    }
  }

  openVolume(name: string): Promise<OpenVolume> {
    let pending = this.opened.get(name);
    if (!pending) {
      pending = this.recover(name);
      this.opened.set(name, pending);
      pending.catch(() => { if (this.opened.get(name) === pending) this.opened.delete(name); });
    }
    return pending;
  }

  /** Loads the map, replays unfolded journals into the overlay (streaming them: the overlay
   * indexes their records where they are), folds them, and opens a new journal. */
  private async recover(name: string): Promise<OpenVolume> {
    const record = await this.record(name);
    const map = await loadBlockMap(this.deps.meta, this.codec, record.head);
    const { foldedThrough } = decodeJournalState(await this.deps.meta.get(journalStateKey(record.id)));
    const numbers = await this.deps.journals.list(record.id);
    const replayed = numbers.filter((number) => number > foldedThrough);
    for (const number of numbers) if (number <= foldedThrough) await this.deps.journals.remove(record.id, number);
    const next = Math.max(foldedThrough, ...numbers) + 1;
    const salt = this.saltOf(record);
    const folder = new Folder({ ...this.deps, codec: this.codec, metaLock: this.metaLock }, record.id, salt, next);
    const volume = new Volume(name, record.sizeBytes, map, folder, folder.newJournal(Promise.resolve()));
    for (const number of replayed) {
      const key = journalKeyOf(this.deps.masterKey, record.id, number);
      const journal = new ReplayedJournal(number, await this.deps.journals.open(record.id, number), key);
      folder.adoptReplayed(journal);
      await scanJournal(key, journal.windowed(), (entry, at, bytes) => volume.replay(entry, journal, at, bytes));
    }
    if (replayed.length > 0) await volume.foldNow();
    return { volume, folder, record };
  }

  /** The salt each seal of the volume uses. A user or location policy always picks the same index
   * (so its label hash runs once, not once per 64 KiB block); a time policy is asked each time,
   * as its windows roll over. */
  private saltOf(record: VolumeRecordV1): () => Buffer {
    const indexNow = () => saltIndexFor(record.saltPolicy, { userId: record.owner, timeMs: this.deps.clock(), location: this.deps.location });
    if (record.saltPolicy.by === 'time') return () => this.deps.saltFor(indexNow());
    const index = indexNow();
    return () => this.deps.saltFor(index);
  }

  private async openExport(name: string): Promise<BlockDevice | undefined> {
    const at = name.indexOf('@');
    try {
      if (at < 0) return new VolumeHandle((await this.openVolume(name)).volume);
      const snapshot = await this.snapshotRecord(name.slice(0, at), name.slice(at + 1));
      const map = await loadBlockMap(this.deps.meta, this.codec, snapshot.layer);
      const readOnly = { chunks: this.deps.chunks, fold: async () => assert(false, 'snapshots never fold'), seal: async (): Promise<never> => { throw new AssertionError('snapshots are read-only'); } };
      return new Volume(name, snapshot.sizeBytes, map, readOnly, undefined);
    } catch (error) {
      if (error instanceof VolumeError) return undefined;
      throw error;
    }
  }

  private async exportList(): Promise<ExportDescription[]> {
    const exports: ExportDescription[] = [];
    for (const record of await this.records()) {
      exports.push({ name: record.name, description: `Cairn volume, ${record.sizeBytes} bytes` });
      for (const snapshot of await this.snapshots(record.name)) exports.push({ name: `${record.name}@${snapshot.name}`, description: 'read-only snapshot' });
    }
    return exports;
  }

  /** After a merge into `layer`: an open volume whose head it is reloads its resolved map. */
  private async reloadHead(layer: LayerId): Promise<void> {
    for (const pending of this.opened.values()) {
      const open = await pending.catch(() => undefined);
      if (!open || open.volume.map.head !== layer) continue;
      const fresh = await loadBlockMap(this.deps.meta, this.codec, layer);
      open.volume.map.base.clear();
      for (const [index, entry] of fresh.base) open.volume.map.base.set(index, entry);
      open.volume.map.own = fresh.own;
    }
  }

  private async records(): Promise<VolumeRecordV1[]> {
    const found: VolumeRecordV1[] = [];
    for await (const [, value] of this.deps.meta.iterate({ gte: volumePrefix, lt: `${volumePrefix}\uffff`, limit: volumesMax })) found.push(decodeVolume(value));
    return found;
  }

  private async record(name: string): Promise<VolumeRecordV1> {
    const bytes = await this.deps.meta.get(volumeKey(name));
    if (!bytes) throw new VolumeError('VolumeNotFound', `no volume ${name}`);
    return decodeVolume(bytes);
  }

  private async snapshotRecord(name: string, snap: string): Promise<SnapshotRecordV1> {
    const bytes = await this.deps.meta.get(snapshotKey(name, snap));
    if (!bytes) throw new VolumeError('SnapshotNotFound', `no snapshot ${name}@${snap}`);
    return decodeSnapshot(bytes);
  }
}

function checkName(name: string): void {
  if (!isValidName(name)) throw new VolumeError('InvalidVolumeName', `bad name ${JSON.stringify(name)}: use 1-128 of [A-Za-z0-9._-]`);
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes > volumeBytesMax || sizeBytes % volumeSizeGranuleBytes !== 0) {
    throw new VolumeError('InvalidVolumeSize', `size must be a positive multiple of 64 KiB up to ${volumeBytesMax} bytes`);
  }
}
