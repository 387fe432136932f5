// A writable volume as an NBD BlockDevice (blockstore/nbd/block-device.ts). Every write changes an
// in-memory overlay and appends to the volume's journal (journal.ts) in one synchronous step, so
// the journal holds exactly the writes the overlay holds; fold.ts later turns the overlay into
// block map entries. Reads look in the overlay first (read-your-writes), then the block map, then
// read zeros.
//
// The overlay never holds block data. A block a write covers whole is sealed and put as a chunk
// before that step, and the overlay and journal take only its reference (data sealed and written
// once). The rest of a write is journaled page by page (4 KiB, at most one block's pages per
// record) and the overlay maps each page to its record, so a read of a journaled page preads and
// decrypts one small record, and the fold merges a block's pages over its base once for all the
// writes since the last fold. Only a write that covers part of a page reads that page first
// (read-modify-write of 4 KiB, validated against concurrent changes before it applies).
import { assert, pagedBytesTouched, type SealedChunk } from '../../dedup/index.js';
import type { BlockMap, MappedBlock } from './block-map.js';
import { NbdError, type BlockDevice, type BlockExtent, type ChunkId, type ChunkStore, type Leased } from './deps.js';
import { decodeJournalRecord, encodeJournalRecord, refsPerRecordMax, type JournalRecord } from './journal-format.js';
import type { JournalSource, JournalWriter } from './journal.js';
import {
  dirtyBlocksMax, dirtyPaceBlocks, foldTriggerBlocks, journalBytesMax, journalFoldBytes, pageReadBytesMax, readCacheBlocksMax, volumeBlockBytes,
  volumePageBytes, volumePutPendingBytesMax,
} from './limits.js';
import { mappedOf, openBlock, openBlockRange, putLeased } from './seal.js';

const zeroBlock = Buffer.alloc(volumeBlockBytes);
const pagesPerBlock = volumeBlockBytes / volumePageBytes;
const retriesMax = 64;

/** A page whose content is in a journal record: `skip` bytes into the record's payload. */
export class JournalPage {
  constructor(readonly source: JournalSource, readonly at: number, readonly bytes: number, readonly skip: number) {}

  /** The record's whole payload (callers slice their page at `skip`). */
  async payload(): Promise<Buffer> {
    const record = decodeJournalRecord(this.source.key, await this.source.readAt(this.at, this.bytes));
    assert(record !== undefined && record.kind === 'write' && this.skip + volumePageBytes <= record.data.length,
      'an indexed journal record authenticates and holds the page');
    return record.data;
  }
}

export type PageState = JournalPage | 'zero';

/** A block some pages of which were written since the last fold. `base` is what the other pages
 * hold: 'below' = whatever the frozen overlay or the map hold for the block when read. */
export class DirtyPages {
  readonly pages = new Map<number, PageState>();
  constructor(readonly base: 'below' | 'zero' | MappedBlock) {}
}

/** A dirty block: a hole, a chunk already put (pinned until folded), or journaled pages. */
export type Dirty = 'zero' | MappedBlock | DirtyPages;
type Source = PageState | MappedBlock;

export interface VolumeCore {
  chunks: ChunkStore;
  /** Runs one fold (fold.ts); the volume only decides when. */
  fold(volume: Volume): Promise<void>;
  /** Seals one whole block under the volume's salt policy (off the main thread); leased (seal.ts). */
  seal(plaintext: Buffer): Promise<Leased<SealedChunk>>;
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
  /** Puts of whole-block writes' chunks not yet durable (a write acks once sealed and journaled):
   * FLUSH, FUA and the fold wait for them, and a read of such a block waits for its put. */
  private readonly unsettled = new Map<ChunkId, Promise<void>>();
  private readonly puts = new Set<Promise<void>>();
  private putBytes = 0;
  /** Writers waiting for putBytes to fall under its bound. */
  private putWaiters: Array<() => void> = [];
  private readonly readCache = new Map<ChunkId, Buffer>();
  /** Chunk loads in progress, so concurrent misses on one block fetch and decrypt it once. */
  private readonly readLoads = new Map<ChunkId, Promise<Buffer>>();
  /** Page-merging writers queue per page (by absolute page number), so they cannot starve. */
  private readonly pageLocks = new Map<number, Promise<void>>();
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
  ) {
    this.readOnly = journal === undefined;
  }

  get dirtyBlocks(): number {
    return this.active.size + (this.frozen?.size ?? 0);
  }

  /** A fresh journal begins its sequence at 1 (journal-format.ts nonces). */
  switchJournal(journal: JournalWriter): JournalWriter {
    const previous = this.journal;
    assert(previous !== undefined, 'only writable volumes switch journals');
    this.journal = journal;
    this.seq = 0;
    return previous;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    const direct = this.readPagesDirect(offset, length);
    if (direct) return direct;
    const out = Buffer.allocUnsafe(length);
    const loads: Promise<void>[] = [];
    // Every lookup (and every journal read, which counts itself on its journal) starts before
    // the first await: the read sees one consistent state, and no journal closes under it.
    const payloads = new Map<JournalPage['source'], Map<number, Promise<Buffer>>>();
    forEachBlock(offset, length, (index, from, to, at) => {
      const whole = this.wholeSourceOf(index);
      if (whole !== undefined) {
        if (whole === 'zero') out.fill(0, at, at + (to - from));
        else loads.push(this.copyMapped(whole, from, to, out, at));
        return;
      }
      forEachPage(from, to, (page, pageFrom, pageTo) => {
        const into = at + page * volumePageBytes + pageFrom - from;
        const source = this.sourceOf(index, page);
        if (source === 'zero') out.fill(0, into, into + (pageTo - pageFrom));
        else if (source instanceof JournalPage) {
          // A read of many pages of one record decrypts it once.
          let bySource = payloads.get(source.source);
          if (!bySource) payloads.set(source.source, (bySource = new Map()));
          let payload = bySource.get(source.at);
          if (!payload) bySource.set(source.at, (payload = source.payload()));
          loads.push(payload.then((data) => { data.copy(out, into, source.skip + pageFrom, source.skip + pageTo); }));
        } else {
          const base = page * volumePageBytes;
          loads.push(this.copyMapped(source, base + pageFrom, base + pageTo, out, into));
        }
      });
    });
    await Promise.all(loads);
    return out;
  }

  async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    this.checkWritable(offset, data.length);
    await this.makeRoom();
    await this.writeUnchecked(offset, data);
    await this.finish(fua);
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
    // Chunks first: a ref record made durable by this sync must name a durable chunk for the
    // writes this flush covers (replay skips refs to chunks a crash lost: unflushed writes).
    await this.settlePuts();
    this.checkHealthy();
    await this.journal?.sync();
    this.checkHealthy();
  }

  /** Resolves when every chunk put started before the call has settled; a failed one has set
   * `failure` (callers check it). */
  async settlePuts(): Promise<void> {
    await Promise.all([...this.puts]);
  }

  async blockStatus(offset: number, length: number): Promise<BlockExtent[]> {
    this.checkRange(offset, length);
    const extents: BlockExtent[] = [];
    forEachBlock(offset, length, (index, from, to) => {
      const hole = this.wholeSourceOf(index) === 'zero';
      const last = extents[extents.length - 1];
      if (last && last.hole === hole) last.length += to - from;
      else extents.push({ length: to - from, hole, zero: hole });
    });
    assert(extents.reduce((sum, extent) => sum + extent.length, 0) === length, 'extents cover the range');
    return extents;
  }

  /** Applies a replayed record (at `at`, `bytes` long, in `source`) to the overlay. Records of
   * this build are indexed where they are; a write or zero not on page boundaries (older builds
   * journaled any range) is applied like a new write, into the current journal. */
  async replay(record: JournalRecord, source: JournalSource, at: number, bytes: number): Promise<void> {
    if (record.kind === 'ref') {
      // The write was acked before its chunk was durable; if a crash lost the chunk, no FLUSH or
      // FUA covered the write (both wait for its put), so it may be lost: the block keeps what it
      // held. Pins died with the process; VolumeService.open folds before any GC can run.
      for (const [at, ref] of record.refs.entries()) {
        if (await this.core.chunks.has(ref.id)) this.active.set(record.index + at, { id: ref.id, key: ref.key, seal: record.seal });
      }
      return;
    }
    const length = record.kind === 'write' ? record.data.length : record.length;
    if (record.offset % volumePageBytes !== 0 || length % volumePageBytes !== 0) {
      if (record.kind === 'write') await this.writeUnchecked(record.offset, record.data);
      else await this.apply(record.offset, length, undefined, undefined);
      return;
    }
    if (record.kind === 'zero') this.indexRange(record.offset, length, () => 'zero');
    else this.indexRange(record.offset, length, (into) => new JournalPage(source, at, bytes, into));
  }

  /** Waits for a running fold, then starts (and waits for) one more that takes everything. */
  async foldNow(): Promise<void> {
    while (this.folding) await this.folding.catch(() => undefined);
    this.startFold();
    await this.folding;
  }

  /** Decrypted content of a mapped block; shared from the cache, so callers copy out of it (the
   * fold takes blockToMerge instead, which leaves the cache alone). */
  private readBlock(mapped: MappedBlock): Promise<Buffer> {
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

  /** Copies bytes [from, to) of a mapped block into `out` at `into`: from the cache or a load
   * under way if there is one, else, for a few pages of a paged block, from those pages alone. */
  private async copyMapped(mapped: MappedBlock, from: number, to: number, out: Buffer, into: number): Promise<void> {
    if (!this.readsByPage(mapped, from, to)) {
      (await this.readBlock(mapped)).copy(out, into, from, to);
      return;
    }
    (await this.readPages(mapped, from, to)).copy(out, into);
  }

  /** The common small random read — inside one block that is stored whole and read by pages —
   * answered with the decrypted pages themselves: no output buffer, copy or per-read bookkeeping. */
  private readPagesDirect(offset: number, length: number): Promise<Buffer> | undefined {
    const index = Math.floor(offset / volumeBlockBytes);
    const from = offset - index * volumeBlockBytes;
    if (from + length > volumeBlockBytes) return undefined;
    const whole = this.wholeSourceOf(index);
    if (whole === undefined || whole === 'zero' || !this.readsByPage(whole, from, from + length)) return undefined;
    return this.readPages(whole, from, from + length);
  }

  /** Whether bytes [from, to) of a mapped block are best read by their pages alone: a paged block,
   * a few pages, and not cached or being loaded whole already. */
  private readsByPage(mapped: MappedBlock, from: number, to: number): boolean {
    return mapped.seal !== 'chunk' && pagedBytesTouched(from, to, mapped.seal) <= pageReadBytesMax
      && !this.readCache.has(mapped.id) && !this.readLoads.has(mapped.id);
  }

  /** Bytes [from, to) of a paged block, from its pages' ciphertext alone. */
  private async readPages(mapped: MappedBlock, from: number, to: number): Promise<Buffer> {
    await this.unsettled.get(mapped.id); // a put still running: the chunk is not in the store yet
    return openBlockRange(this.core.chunks, mapped, from, to);
  }

  /** A block of its own for the fold to merge pages into: a copy of the cached one (cached blocks
   * are shared with readers), else opened without entering the cache — the fold is about to
   * replace this content, so caching it would only evict blocks readers still want (and every
   * cached block is a long-lived 64 KiB buffer the GC must track). */
  async blockToMerge(mapped: MappedBlock): Promise<Buffer> {
    const cached = this.readCache.get(mapped.id);
    if (cached) {
      const copy = Buffer.allocUnsafe(volumeBlockBytes); // every byte copied next (Buffer.from zero-fills first)
      cached.copy(copy);
      return copy;
    }
    await this.unsettled.get(mapped.id);
    return openBlock(this.core.chunks, mapped);
  }

  private async loadBlock(mapped: MappedBlock): Promise<Buffer> {
    await this.unsettled.get(mapped.id);
    const plain = await openBlock(this.core.chunks, mapped);
    this.readCache.set(mapped.id, plain);
    if (this.readCache.size > readCacheBlocksMax) this.readCache.delete(this.readCache.keys().next().value as ChunkId);
    return plain;
  }

  /** What a whole block reads as when no page of it is journaled (undefined: some are). */
  private wholeSourceOf(index: number): MappedBlock | 'zero' | undefined {
    for (const entry of [this.active.get(index), this.frozen?.get(index)]) {
      if (entry === undefined) continue;
      if (entry instanceof DirtyPages) return undefined;
      return entry;
    }
    return this.map.visible(index) ?? 'zero';
  }

  /** Where page `page` of block `index` reads from now. */
  private sourceOf(index: number, page: number): Source {
    for (const entry of [this.active.get(index), this.frozen?.get(index)]) {
      if (entry === undefined) continue;
      if (!(entry instanceof DirtyPages)) return entry;
      const state = entry.pages.get(page);
      if (state !== undefined) return state;
      if (entry.base !== 'below') return entry.base;
    }
    return this.map.visible(index) ?? 'zero';
  }

  private async zero(offset: number, length: number, fua: boolean): Promise<void> {
    this.checkWritable(offset, length);
    await this.makeRoom();
    await this.apply(offset, length, undefined, undefined);
    await this.finish(fua);
  }

  /** A write without range checks or pacing (also replay's path for older records). */
  private async writeUnchecked(offset: number, data: Buffer): Promise<void> {
    await this.apply(offset, data.length, data, await this.sealWholeBlocks(offset, data));
  }

  /** Seals every block the write covers whole (all-zero ones become holes) and starts its put,
   * before the write touches the overlay. */
  private async sealWholeBlocks(offset: number, data: Buffer): Promise<Map<number, MappedBlock | 'zero'>> {
    const stored = new Map<number, MappedBlock | 'zero'>();
    const seals: Promise<void>[] = [];
    forEachBlock(offset, data.length, (index, from, to, at) => {
      if (to - from < volumeBlockBytes) return;
      const plain = data.subarray(at, at + volumeBlockBytes);
      if (plain.equals(zeroBlock)) stored.set(index, 'zero');
      else seals.push(this.core.seal(plain).then((sealed) => { stored.set(index, mappedOf(sealed.value)); this.startPut(sealed); }));
    });
    // allSettled: `data` is only lent until this write settles (block-device.ts), so no seal may
    // still be about to copy it when the write rejects.
    const failed = (await Promise.allSettled(seals)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return stored;
  }

  private startPut(sealed: Leased<SealedChunk>): void {
    const chunk = sealed.value;
    const bytes = chunk.ciphertext.length;
    this.putBytes += bytes;
    const put: Promise<void> = putLeased(this.core.chunks, sealed)
      .catch((error: unknown) => { this.failure ??= error; })
      .finally(() => {
        this.putBytes -= bytes;
        this.puts.delete(put);
        if (this.unsettled.get(chunk.id) === put) this.unsettled.delete(chunk.id);
        if (this.putBytes <= volumePutPendingBytesMax) for (const wake of this.putWaiters.splice(0)) wake();
      });
    this.puts.add(put);
    this.unsettled.set(chunk.id, put);
  }

  /** Writes `data` (undefined: zeros) over the range. Pages it covers only in part are read and
   * merged first; the whole change then happens in one synchronous turn, after checking that no
   * merged page changed while it was read (else it reads again). */
  private async apply(offset: number, length: number, data: Buffer | undefined, stored: Map<number, MappedBlock | 'zero'> | undefined): Promise<void> {
    const end = offset + length;
    const partial = [...new Set([offset, end - 1].map((byte) => Math.floor(byte / volumePageBytes)))]
      .filter((page) => page * volumePageBytes < offset || (page + 1) * volumePageBytes > end);
    if (partial.length === 0) {
      this.applyNow(offset, length, data, stored, new Map());
      return;
    }
    const unlock = await this.lockPages(partial);
    try {
      for (let attempt = 0; ; attempt++) {
        assert(attempt < retriesMax, 'a page merge settles within retriesMax rounds');
        const before = partial.map((page) => this.pageVersion(page));
        const current = await Promise.all(partial.map((page) => this.read(page * volumePageBytes, volumePageBytes)));
        if (partial.some((page, at) => !sameVersion(before[at], this.pageVersion(page)))) continue;
        const merged = new Map<number, Buffer>();
        partial.forEach((page, at) => {
          const content = current[at];
          const pageStart = page * volumePageBytes;
          const from = Math.max(offset, pageStart);
          const to = Math.min(end, pageStart + volumePageBytes);
          if (data) data.copy(content, from - pageStart, from - offset, to - offset);
          else content.fill(0, from - pageStart, to - pageStart);
          merged.set(page, content);
        });
        this.applyNow(offset, length, data, stored, merged);
        return;
      }
    } finally {
      unlock();
    }
  }

  /** The synchronous half of apply: overlay and journal change together. */
  private applyNow(offset: number, length: number, data: Buffer | undefined, stored: Map<number, MappedBlock | 'zero'> | undefined,
    merged: Map<number, Buffer>): void {
    // Consecutive stored blocks of one seal share one ref record (a 1 MiB write: 1 record, not 16).
    let run: Extract<JournalRecord, { kind: 'ref' }> | undefined;
    const endRun = () => {
      if (run) this.log(run);
      run = undefined;
    };
    forEachBlock(offset, length, (index, from, to, at) => {
      const blockStart = index * volumeBlockBytes;
      if (to - from === volumeBlockBytes) {
        const whole = data ? stored?.get(index) : 'zero';
        assert(whole !== undefined, 'every whole block of a write was stored first');
        if (whole === 'zero') {
          endRun();
          this.zeroWhole(index);
          this.log({ kind: 'zero', offset: blockStart, length: volumeBlockBytes });
        } else {
          this.active.set(index, whole);
          this.pinned.push(whole.id);
          if (run && (run.seal !== whole.seal || run.refs.length >= refsPerRecordMax)) endRun();
          run ??= { kind: 'ref', index, refs: [], seal: whole.seal };
          run.refs.push({ id: whole.id, key: whole.key });
        }
        return;
      }
      endRun();
      // Whole pages of this block: one record; partial pages: one merged page record each.
      const firstWhole = Math.ceil(from / volumePageBytes) * volumePageBytes;
      const lastWhole = Math.floor(to / volumePageBytes) * volumePageBytes;
      if (lastWhole > firstWhole) {
        const start = blockStart + firstWhole;
        if (data) this.logIndexed(start, data.subarray(at + firstWhole - from, at + lastWhole - from));
        else {
          this.log({ kind: 'zero', offset: start, length: lastWhole - firstWhole });
          this.indexRange(start, lastWhole - firstWhole, () => 'zero');
        }
      }
      for (const [page, content] of merged) if (Math.floor(page / pagesPerBlock) === index) this.logIndexed(page * volumePageBytes, content);
    });
    endRun();
  }

  /** Journals whole pages at `offset` and points the overlay at the record. */
  private logIndexed(offset: number, data: Buffer): void {
    assert(offset % volumePageBytes === 0 && data.length % volumePageBytes === 0 && data.length > 0, 'indexed records are whole pages');
    const { at, bytes } = this.log({ kind: 'write', offset, data });
    const journal = this.journal!;
    this.indexRange(offset, data.length, (into) => new JournalPage(journal, at, bytes, into));
  }

  /** Points every page of a page-aligned range at `state(byte offset into the range)`; whole
   * blocks of zeros become holes. */
  private indexRange(offset: number, length: number, state: (into: number) => PageState): void {
    assert(offset % volumePageBytes === 0 && length % volumePageBytes === 0, 'indexed ranges are whole pages');
    forEachBlock(offset, length, (index, from, to, at) => {
      if (to - from === volumeBlockBytes && state(at) === 'zero') {
        this.zeroWhole(index);
        return;
      }
      const pages = this.pagesOf(index);
      for (let byte = from; byte < to; byte += volumePageBytes) pages.pages.set(byte / volumePageBytes, state(at + byte - from));
    });
  }

  /** The active overlay's page index of a block, created over what the block holds now. */
  private pagesOf(index: number): DirtyPages {
    const entry = this.active.get(index);
    if (entry instanceof DirtyPages) return entry;
    const pages = new DirtyPages(entry ?? 'below');
    this.active.set(index, pages);
    return pages;
  }

  /** A whole block becomes a hole; one nothing below maps stays absent from the overlay. */
  private zeroWhole(index: number): void {
    if (this.active.has(index) || this.frozen?.has(index) || this.map.visible(index)) this.active.set(index, 'zero');
  }

  /** Everything a page's content depends on, compared by identity (page states, entries and map
   * entries are replaced, never changed, except an active DirtyPages' page map: its page's state
   * is part of the version). */
  private pageVersion(page: number): unknown[] {
    const index = Math.floor(page / pagesPerBlock);
    const active = this.active.get(index);
    const inBlock = page % pagesPerBlock;
    return [active, active instanceof DirtyPages ? active.pages.get(inBlock) : undefined, this.frozen?.get(index), this.map.visible(index)];
  }

  private async lockPages(pages: number[]): Promise<() => void> {
    const previous = pages.map((page) => this.pageLocks.get(page));
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    for (const page of pages) this.pageLocks.set(page, mine);
    await Promise.all(previous);
    return () => {
      for (const page of pages) if (this.pageLocks.get(page) === mine) this.pageLocks.delete(page);
      release();
    };
  }

  private log(record: JournalRecord): { at: number; bytes: number } {
    assert(this.journal, 'writable volumes have a journal');
    this.seq += 1;
    const pieces = encodeJournalRecord(this.journal.key, this.seq, record);
    let bytes = 0;
    for (const piece of pieces) bytes += piece.length;
    return { at: this.journal.append(pieces), bytes };
  }

  private async finish(fua: boolean): Promise<void> {
    const due = this.active.size >= foldTriggerBlocks || (this.journal?.bytes ?? 0) >= journalFoldBytes;
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
    // writer for a whole fold.
    if (this.dirtyBlocks > dirtyPaceBlocks && this.folding) await new Promise<void>((resolve) => this.pacedWriters.push(resolve));
    for (let round = 0; (this.dirtyBlocks > dirtyBlocksMax || (this.journal?.bytes ?? 0) > journalBytesMax) && this.folding; round++) {
      assert(round < retriesMax, 'a fold frees room within retriesMax rounds');
      await this.folding;
      this.checkHealthy();
    }
    // Acked whole-block writes whose puts are still running hold their ciphertext: bounded.
    while (this.putBytes > volumePutPendingBytesMax) {
      await new Promise<void>((resolve) => this.putWaiters.push(resolve));
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

function sameVersion(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, at) => value === b[at]);
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

/** Visits each page of a block overlapping [from, to) (offsets in the block): page number in the
 * block and the byte range inside that page. */
function forEachPage(from: number, to: number, visit: (page: number, pageFrom: number, pageTo: number) => void): void {
  for (let position = from; position < to;) {
    const page = Math.floor(position / volumePageBytes);
    const pageFrom = position - page * volumePageBytes;
    const pageTo = Math.min(volumePageBytes, to - page * volumePageBytes);
    visit(page, pageFrom, pageTo);
    position += pageTo - pageFrom;
  }
}

export function isZeroBlock(block: Buffer): boolean {
  return block.equals(zeroBlock);
}
