// A writable volume as an NBD BlockDevice (blockstore/nbd/block-device.ts). Writes land in an
// in-memory overlay of 64 KiB blocks and in the volume's journal (journal.ts) in one synchronous
// step, so the journal holds exactly the writes the overlay holds; fold.ts later turns the
// overlay into block map entries. Reads look in the overlay first (read-your-writes), then the
// block map, then read zeros.
//
// A block a write covers whole is sealed and put as a chunk before that step, and the overlay and
// journal take only its reference (data encrypted and written once). A partial write to a block
// not yet in the overlay as a buffer first loads the block (read-modify-write): buffers always
// hold complete blocks, so a fold never needs the old content.
import { assert } from '../../dedup/index.js';
import type { BlockMap, MappedBlock } from './block-map.js';
import { NbdError, type BlockDevice, type BlockExtent, type ChunkId, type ChunkStore } from './deps.js';
import { encodeJournalRecord, type JournalRecord } from './journal-format.js';
import type { JournalWriter } from './journal.js';
import { dirtyBytesMax, dirtyPaceBytes, foldTriggerBytes, journalFoldBytes, readCacheBlocksMax, volumeBlockBytes } from './limits.js';
import { openBlock } from './seal.js';

/** A dirty block: its whole content, a hole, or a chunk already put (pinned until folded). */
export type Dirty = Buffer | 'zero' | MappedBlock;

/** The chunk a dirty block (or, for undefined, the map) says to read, if any. */
export function chunkOf(dirty: Dirty | undefined, mapped: () => MappedBlock | undefined): MappedBlock | undefined {
  if (dirty === undefined) return mapped();
  if (dirty === 'zero' || Buffer.isBuffer(dirty)) return undefined;
  return dirty as MappedBlock; // instanceof does not narrow Buffer out of a structural union
}
const zeroBlock = Buffer.alloc(volumeBlockBytes);
const retriesMax = 64;

export interface VolumeCore {
  chunks: ChunkStore;
  /** Runs one fold (fold.ts); the volume only decides when. */
  fold(volume: Volume): Promise<void>;
  /** Seals one whole block and puts its chunk durably; the put's pin is the caller's. */
  store(plaintext: Buffer): Promise<MappedBlock>;
}

export class Volume implements BlockDevice {
  readonly readOnly: boolean;
  readonly canMultiConn = true;
  active = new Map<number, Dirty>();
  frozen: Map<number, Dirty> | undefined;
  failure: unknown;
  closed = false;
  /** One id per chunk put for a whole-block write since the last rotation: each holds a pin that
   * the fold committing that overlay releases. */
  pinned: ChunkId[] = [];
  private readonly loading = new Map<number, Promise<void>>();
  private readonly readCache = new Map<ChunkId, Buffer>();
  /** Chunk loads in progress, so concurrent misses on one block fetch and decrypt it once. */
  private readonly readLoads = new Map<ChunkId, Promise<Buffer>>();
  private folding: Promise<void> | undefined;
  /** Writers paced by the running fold (makeRoom): one is let in per block the fold has put. */
  private pacedWriters: Array<() => void> = [];
  private seq = 0;

  constructor(
    readonly name: string,
    public sizeBytes: number,
    readonly map: BlockMap,
    private readonly core: VolumeCore,
    public journal: JournalWriter | undefined,
    public journalKey: Buffer | undefined,
  ) {
    this.readOnly = journal === undefined;
  }

  get dirtyBytes(): number {
    return (this.active.size + (this.frozen?.size ?? 0)) * volumeBlockBytes;
  }

  /** A fresh journal begins its sequence at 1 (journal-format.ts nonces). */
  switchJournal(journal: JournalWriter, key: Buffer): JournalWriter {
    const previous = this.journal;
    assert(previous !== undefined, 'only writable volumes switch journals');
    this.journal = journal;
    this.journalKey = key;
    this.seq = 0;
    return previous;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    const out = Buffer.allocUnsafe(length);
    const loads: Promise<void>[] = [];
    // Every lookup happens before the first await: the read sees one consistent state.
    forEachBlock(offset, length, (index, from, to, at) => {
      const dirty = this.active.get(index) ?? this.frozen?.get(index);
      const mapped = dirty === undefined ? this.map.visible(index) : undefined;
      const source = chunkOf(dirty, () => mapped);
      if (dirty instanceof Buffer) dirty.copy(out, at, from, to);
      else if (source) loads.push(this.readBlock(source).then((plain) => { plain.copy(out, at, from, to); }));
      else out.fill(0, at, at + (to - from));
    });
    await Promise.all(loads);
    return out;
  }

  async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    this.checkWritable(offset, data.length);
    await this.makeRoom();
    const stored = await this.storeWholeBlocks(offset, data);
    await this.prepare(offset, data.length, () => {
      forEachBlock(offset, data.length, (index, from, to, at) => {
        const whole = stored.get(index);
        if (whole === undefined) {
          const piece = data.subarray(at, at + (to - from));
          this.copyIn(index * volumeBlockBytes + from, piece);
          this.log({ kind: 'write', offset: index * volumeBlockBytes + from, data: piece });
        } else if (whole === 'zero') {
          this.zeroWhole(index);
          this.log({ kind: 'zero', offset: index * volumeBlockBytes, length: volumeBlockBytes });
        } else {
          this.active.set(index, whole);
          this.pinned.push(whole.id);
          this.log({ kind: 'ref', index, id: whole.id, key: whole.key });
        }
      });
    });
    await this.finish(fua);
  }

  /** Seals and puts every block the write covers whole (all-zero ones become holes), before the
   * write touches the overlay: the journal then never names a chunk that is not durable. */
  private async storeWholeBlocks(offset: number, data: Buffer): Promise<Map<number, MappedBlock | 'zero'>> {
    const stored = new Map<number, MappedBlock | 'zero'>();
    const puts: Promise<void>[] = [];
    forEachBlock(offset, data.length, (index, from, to, at) => {
      if (to - from < volumeBlockBytes) return;
      const plain = data.subarray(at, at + volumeBlockBytes);
      if (isZeroBlock(plain)) stored.set(index, 'zero');
      else puts.push(this.core.store(plain).then((ref) => { stored.set(index, ref); }));
    });
    await Promise.all(puts);
    return stored;
  }

  async writeZeroes(offset: number, length: number, options: { fua: boolean; noHole: boolean; fastZero: boolean }): Promise<void> {
    // noHole is served as a hole: zero blocks are never stored (issue 4), and a hole reads as
    // zeros, which is what proto.md NBD_CMD_WRITE_ZEROES promises. Zeroing is always fast here.
    await this.zero(offset, length, options.fua);
  }

  async trim(offset: number, length: number, fua: boolean): Promise<void> {
    // proto.md NBD_CMD_TRIM: content afterwards is unspecified; we drop whole blocks only, so the
    // journaled record is the whole-block range — replay zeroes exactly what trim dropped.
    this.checkWritable(offset, length);
    const first = Math.ceil(offset / volumeBlockBytes) * volumeBlockBytes;
    const last = Math.floor((offset + length) / volumeBlockBytes) * volumeBlockBytes;
    if (last > first) await this.zero(first, last - first, fua);
    else if (fua) await this.flush();
  }

  async flush(): Promise<void> {
    this.checkHealthy();
    await this.journal?.sync();
    this.checkHealthy();
  }

  async blockStatus(offset: number, length: number): Promise<BlockExtent[]> {
    this.checkRange(offset, length);
    const extents: BlockExtent[] = [];
    forEachBlock(offset, length, (index, from, to) => {
      const dirty = this.active.get(index) ?? this.frozen?.get(index);
      const hole = dirty === undefined ? this.map.visible(index) === undefined : dirty === 'zero';
      const last = extents[extents.length - 1];
      if (last && last.hole === hole) last.length += to - from;
      else extents.push({ length: to - from, hole, zero: hole });
    });
    assert(extents.reduce((sum, extent) => sum + extent.length, 0) === length, 'extents cover the range');
    return extents;
  }

  /** Applies a replayed journal record to the overlay without journaling it again. */
  async replay(record: JournalRecord): Promise<void> {
    if (record.kind === 'write') await this.prepare(record.offset, record.data.length, () => this.copyIn(record.offset, record.data));
    else if (record.kind === 'zero') await this.prepareZero(record.offset, record.length, () => undefined);
    // Pins died with the process that put the chunk; VolumeService.open folds before any GC.
    else await this.prepare(record.index * volumeBlockBytes, volumeBlockBytes, () => this.active.set(record.index, { id: record.id, key: record.key }));
  }

  /** Waits for a running fold, then starts (and waits for) one more that takes everything. */
  async foldNow(): Promise<void> {
    while (this.folding) await this.folding.catch(() => undefined);
    this.startFold();
    await this.folding;
  }

  /** Decrypted content of a mapped block; shared from the cache, so callers copy out of it. */
  readBlock(mapped: MappedBlock): Promise<Buffer> {
    const cached = this.readCache.get(mapped.id);
    if (cached) {
      this.readCache.delete(mapped.id);
      this.readCache.set(mapped.id, cached);
      return Promise.resolve(cached);
    }
    const loading = this.readLoads.get(mapped.id);
    if (loading) return loading;
    const load = this.loadBlock(mapped).finally(() => this.readLoads.delete(mapped.id));
    this.readLoads.set(mapped.id, load);
    return load;
  }

  private async loadBlock(mapped: MappedBlock): Promise<Buffer> {
    const plain = await openBlock(await this.core.chunks.get(mapped.id), mapped.key);
    this.readCache.set(mapped.id, plain);
    if (this.readCache.size > readCacheBlocksMax) this.readCache.delete(this.readCache.keys().next().value as ChunkId);
    return plain;
  }

  private async zero(offset: number, length: number, fua: boolean): Promise<void> {
    this.checkWritable(offset, length);
    await this.makeRoom();
    await this.prepareZero(offset, length, () => this.log({ kind: 'zero', offset, length }));
    await this.finish(fua);
  }

  /** Copies into the overlay's buffers; whole blocks (only replayed records of older journals
   * have them) get a fresh buffer here, in the turn that fills every byte of it. */
  private copyIn(offset: number, data: Buffer): void {
    forEachBlock(offset, data.length, (index, from, to, at) => {
      if (to - from === volumeBlockBytes && !(this.active.get(index) instanceof Buffer)) this.active.set(index, Buffer.allocUnsafe(volumeBlockBytes));
      const block = this.active.get(index);
      assert(block instanceof Buffer, 'prepare left a block for every write');
      data.copy(block, from, at, at + (to - from));
    });
  }

  /** A whole block becomes a hole; one nothing below maps stays absent from the overlay. */
  private zeroWhole(index: number): void {
    if (this.active.has(index) || this.frozen?.has(index) || this.map.visible(index)) this.active.set(index, 'zero');
  }

  /** Zeroes the range in the overlay: whole blocks become 'zero' (a hole), partial ones are
   * cleared in place. */
  private prepareZero(offset: number, length: number, then: () => void): Promise<void> {
    return this.prepare(offset, length, () => {
      forEachBlock(offset, length, (index, from, to) => {
        if (to - from === volumeBlockBytes) {
          this.zeroWhole(index);
        } else {
          const block = this.active.get(index);
          assert(block instanceof Buffer, 'prepare left a block for every partial zero');
          block.fill(0, from, to);
        }
      });
      then();
    });
  }

  /** Makes the overlay hold a Buffer for every partial block of the range, then runs `apply` in
   * the same synchronous turn — so no fold can rotate the overlay and journal between the check
   * and the change. Whole blocks still wait for a load in progress, so a late load cannot
   * overwrite what `apply` puts there. */
  private async prepare(offset: number, length: number, apply: () => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      assert(attempt < retriesMax, 'prepare settles within retriesMax rounds');
      const waits: Promise<void>[] = [];
      forEachBlock(offset, length, (index, from, to) => {
        const whole = to - from === volumeBlockBytes;
        const loading = this.loading.get(index);
        if (loading) waits.push(loading);
        else if (!whole) {
          const waiting = this.ensureBlock(index);
          if (waiting) waits.push(waiting);
        }
      });
      if (waits.length === 0) {
        apply();
        return;
      }
      await Promise.all(waits);
    }
  }

  /** Puts a Buffer holding the block's current content into the active overlay now, or returns
   * what to wait for. */
  private ensureBlock(index: number): Promise<void> | undefined {
    const loading = this.loading.get(index);
    if (loading) return loading;
    const dirty = this.active.get(index);
    if (dirty instanceof Buffer) return undefined;
    const older = dirty ?? this.frozen?.get(index);
    const source = chunkOf(older, () => this.map.visible(index));
    if (older instanceof Buffer) this.active.set(index, Buffer.from(older));
    else if (!source) this.active.set(index, Buffer.alloc(volumeBlockBytes));
    else {
      const load = this.readBlock(source).then((plain) => {
        this.loading.delete(index);
        // A rotation may have moved `dirty` to the frozen overlay meanwhile; its content is still
        // the base, and nothing else writes a block that is loading (prepare waits).
        const now = this.active.get(index);
        assert(now === undefined || now === dirty, 'nobody fills a block that is loading');
        this.active.set(index, Buffer.from(plain));
      }, (error: unknown) => { this.loading.delete(index); throw error; });
      this.loading.set(index, load);
      return load;
    }
    return undefined;
  }

  private log(record: JournalRecord): void {
    assert(this.journal && this.journalKey, 'writable volumes have a journal');
    this.seq += 1;
    this.journal.append(encodeJournalRecord(this.journalKey, this.seq, record));
  }

  private async finish(fua: boolean): Promise<void> {
    const due = this.active.size * volumeBlockBytes >= foldTriggerBytes || (this.journal?.bytes ?? 0) >= journalFoldBytes;
    if (due && !this.folding) this.startFold();
    if (fua) await this.flush();
  }

  /** Called by the running fold for each block it has put: lets one paced writer in. */
  foldProgress(): void {
    this.pacedWriters.shift()?.();
  }

  private startFold(): void {
    const run = this.core.fold(this).catch((error: unknown) => { this.failure ??= error; });
    this.folding = run.finally(() => {
      if (this.folding === guarded) this.folding = undefined;
      for (const wake of this.pacedWriters.splice(0)) wake();
    });
    const guarded = this.folding;
  }

  private async makeRoom(): Promise<void> {
    // Past the pace mark a writer waits for one block of fold progress (or the fold's end): the
    // write rate follows the fold's instead of running into the hard cap and stalling every
    // writer for a whole fold (a p99 of a second under 4 KiB random writes).
    if (this.dirtyBytes > dirtyPaceBytes && this.folding) await new Promise<void>((resolve) => this.pacedWriters.push(resolve));
    for (let round = 0; this.dirtyBytes > dirtyBytesMax && this.folding; round++) {
      assert(round < retriesMax, 'a fold frees room within retriesMax rounds');
      await this.folding;
      this.checkHealthy();
    }
    await this.journal?.room();
  }

  private checkHealthy(): void {
    if (this.closed) throw new NbdError('ESHUTDOWN', `volume ${this.name} is closed`);
    if (this.failure) throw new NbdError('EIO', `volume ${this.name} failed: ${String(this.failure)}`);
  }

  private checkRange(offset: number, length: number): void {
    assert(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length > 0, 'range is positive integers');
    if (offset + length > this.sizeBytes) throw new NbdError('EINVAL', 'range past the end of the volume (was it shrunk?)');
    this.checkHealthy();
  }

  private checkWritable(offset: number, length: number): void {
    assert(!this.readOnly, 'the server never writes to a read-only export');
    this.checkRange(offset, length);
  }
}

/** Visits each block overlapping [offset, offset + length): index, byte range inside the block,
 * and where that range starts relative to `offset`. */
export function forEachBlock(offset: number, length: number, visit: (index: number, from: number, to: number, at: number) => void): void {
  const end = offset + length;
  for (let position = offset; position < end;) {
    const index = Math.floor(position / volumeBlockBytes);
    const from = position - index * volumeBlockBytes;
    const to = Math.min(volumeBlockBytes, end - index * volumeBlockBytes);
    visit(index, from, to, position - offset);
    position += to - from;
  }
}

export function isZeroBlock(block: Buffer): boolean {
  return block.equals(zeroBlock);
}
