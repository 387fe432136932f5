// The durable write journal of a volume: append-only files, one writer per open volume, group
// commit (one fdatasync covers every record appended before it — LIMITS.md: ~71k appends/s at 32
// per fsync against ~6k with one fsync each). The volume is the only writer of its journal, so
// FLUSH on any connection syncs every connection's writes: that is what makes multi-conn true.
//
// Durability contract of JournalFile: append() resolves when the bytes are in the kernel (they
// survive kill -9 of this process); sync() resolves when every appended byte survives power loss.
//
// Journals are also read while live: partial-block writes stay in the journal until a fold, and
// the overlay indexes each page by its record's position (volume.ts), so reads and the fold pread
// records. A writer serves records still queued from memory, and is closed only after the reads
// that found a record in it have finished. Files go through the chunk store's disk seam
// (chunks/disk.ts): its small reads are synchronous while they come from the page cache, and a
// fold preads ~16 records per block (FileHandle.read: ~60 µs of process CPU a 4 KiB read with 64
// in flight here, its thread hand-offs included; readSync ~5).
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../dedup/index.js';
import { journalPendingBytesMax, journalReplayWindowBytes, journalWriteBytesMax } from './limits.js';
import { nodeDisk, type DiskFile } from './deps.js';
import type { VolumeId } from './records.js';

/** Random reads of a journal file; `read` returns `length` bytes, or fewer at the end. */
export interface JournalReadable {
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface JournalFile extends JournalReadable {
  append(buffers: readonly Buffer[]): Promise<void>;
  sync(): Promise<void>;
}

/** Where journal files live. Numbers of one volume are returned ascending. */
export interface JournalStore {
  list(volume: VolumeId): Promise<number[]>;
  /** Opens an existing journal for reading (recovery streams it; the overlay indexes into it). */
  open(volume: VolumeId, journalNumber: number): Promise<JournalReadable>;
  create(volume: VolumeId, journalNumber: number): Promise<JournalFile>;
  remove(volume: VolumeId, journalNumber: number): Promise<void>;
}

export class FileJournalStore implements JournalStore {
  constructor(private readonly dir: string) {}

  private path(volume: VolumeId, journalNumber: number): string {
    return join(this.dir, `${volume}.${journalNumber.toString().padStart(10, '0')}.jrn`);
  }

  async list(volume: VolumeId): Promise<number[]> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    const numbers = names.filter((name) => name.startsWith(`${volume}.`) && name.endsWith('.jrn'))
      .map((name) => Number(name.slice(volume.length + 1, -4)));
    return numbers.filter((value) => Number.isSafeInteger(value)).sort((a, b) => a - b);
  }

  async open(volume: VolumeId, journalNumber: number): Promise<JournalReadable> {
    return new DiskJournalFile(await nodeDisk.open(this.path(volume, journalNumber), 'r+'));
  }

  async create(volume: VolumeId, journalNumber: number): Promise<JournalFile> {
    await mkdir(this.dir, { recursive: true });
    // Read as well as written: the overlay reads journaled pages back (wx+ = read-write, exclusive).
    const file = await nodeDisk.open(this.path(volume, journalNumber), 'wx+');
    // The new name must survive power loss before its records are called durable.
    await nodeDisk.fsyncDirectory(this.dir);
    return new DiskJournalFile(file);
  }

  async remove(volume: VolumeId, journalNumber: number): Promise<void> {
    await rm(this.path(volume, journalNumber), { force: true });
  }
}

/** A journal file; appends go at its end, which is where this writer's last one stopped (a
 * created file starts empty; one opened for reading is never appended to). */
class DiskJournalFile implements JournalFile {
  private end = 0;

  constructor(private readonly file: DiskFile) {}

  async append(buffers: readonly Buffer[]): Promise<void> {
    let rest = [...buffers];
    // writev may write less than asked; loop until the kernel has every byte (bounded by bytes).
    while (rest.length > 0) {
      const { bytesWritten } = await this.file.writev(rest, this.end);
      this.end += bytesWritten;
      let skip = bytesWritten;
      while (rest.length > 0 && skip >= rest[0].length) skip -= rest.shift()!.length;
      if (rest.length > 0 && skip > 0) rest[0] = rest[0].subarray(skip);
    }
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.file.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break; // end of file: a torn tail
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  sync(): Promise<void> { return this.file.datasync(); }
  close(): Promise<void> { return this.file.close(); }
}

interface MemoryFile { data: Buffer; bytes: number; synced: number; generation: number }

/** In-memory journals for unit tests. `crash(keep)` models power loss: each file keeps what was
 * synced plus `keep(unsynced)` more bytes (possibly tearing a record), and files of the crashed
 * incarnation refuse further appends and syncs, so it cannot change them afterwards. */
export class MemoryJournalStore implements JournalStore {
  readonly files = new Map<string, MemoryFile>();
  private generation = 0;

  async list(volume: VolumeId): Promise<number[]> {
    return [...this.files.keys()].filter((key) => key.startsWith(`${volume}.`)).map((key) => Number(key.split('.')[1])).sort((a, b) => a - b);
  }

  async open(volume: VolumeId, journalNumber: number): Promise<JournalReadable> {
    const file = this.files.get(`${volume}.${journalNumber}`);
    assert(file !== undefined, 'open an existing journal');
    return { read: async (position, length) => readPieces(file, position, length), close: async () => {} };
  }

  async create(volume: VolumeId, journalNumber: number): Promise<JournalFile> {
    const key = `${volume}.${journalNumber}`;
    assert(!this.files.has(key), 'journal numbers are never reused');
    const file: MemoryFile = { data: Buffer.alloc(64 * 1024), bytes: 0, synced: 0, generation: this.generation };
    this.files.set(key, file);
    const live = () => { if (file.generation !== this.generation) throw new Error('journal of a crashed incarnation'); };
    return {
      append: async (buffers) => {
        live();
        for (const buffer of buffers) {
          if (file.bytes + buffer.length > file.data.length) {
            const grown = Buffer.alloc(Math.max(2 * file.data.length, file.bytes + buffer.length));
            file.data.copy(grown, 0, 0, file.bytes);
            file.data = grown;
          }
          file.bytes += buffer.copy(file.data, file.bytes);
        }
      },
      sync: async () => { live(); file.synced = file.bytes; },
      read: async (position, length) => readPieces(file, position, length),
      close: async () => {},
    };
  }

  crash(keep: (unsyncedBytes: number) => number): void {
    this.generation += 1;
    for (const file of this.files.values()) {
      file.bytes = file.synced = file.synced + Math.min(file.bytes - file.synced, Math.max(0, keep(file.bytes - file.synced)));
    }
  }

  async remove(volume: VolumeId, journalNumber: number): Promise<void> {
    this.files.delete(`${volume}.${journalNumber}`);
  }
}

function readPieces(file: MemoryFile, position: number, length: number): Buffer {
  return Buffer.from(file.data.subarray(Math.min(position, file.bytes), Math.min(position + length, file.bytes)));
}

interface SyncWaiter { target: number; resolve: () => void; reject: (error: unknown) => void }

/** A journal the overlay may point into: reads are counted, so closing waits for the reads that
 * found a record in it. */
export abstract class JournalSource {
  private reading = 0;
  private idle: Array<() => void> = [];

  constructor(readonly key: Buffer) {}

  /** The `bytes` bytes of the record at `at` (the caller decodes and authenticates them). */
  async readAt(at: number, bytes: number): Promise<Buffer> {
    this.reading += 1;
    try {
      const found = await this.readRaw(at, bytes);
      assert(found.length === bytes, 'an indexed journal record is whole');
      return found;
    } finally {
      this.reading -= 1;
      if (this.reading === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  protected abstract readRaw(at: number, bytes: number): Promise<Buffer>;

  protected async readsDone(): Promise<void> {
    while (this.reading > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}

/** A journal replayed at open: read-only until the fold that takes its records deletes it. */
export class ReplayedJournal extends JournalSource {
  constructor(readonly journalNumber: number, private readonly file: JournalReadable, key: Buffer) {
    super(key);
  }

  protected readRaw(at: number, bytes: number): Promise<Buffer> { return this.file.read(at, bytes); }

  /** Sequential reads for recovery through a window, so small records cost no syscall each. */
  windowed(): (position: number, length: number) => Promise<Buffer> {
    let start = 0;
    let window: Buffer = Buffer.alloc(0);
    return async (position, length) => {
      if (position < start || position + length > start + window.length) {
        start = position;
        window = await this.file.read(position, Math.max(length, journalReplayWindowBytes));
      }
      return window.subarray(position - start, Math.min(window.length, position - start + length));
    };
  }

  async close(): Promise<void> {
    await this.readsDone();
    await this.file.close();
  }
}

/** Appends records to one JournalFile in order with group commit. */
export class JournalWriter extends JournalSource {
  /** Records not yet handed to the file, each as its pieces (journal-format.ts). */
  private pending: Array<readonly Buffer[]> = [];
  /** The same records by position, for reads before the file has them. */
  private readonly unwritten = new Map<number, readonly Buffer[]>();
  private writtenBytes = 0;
  private pendingBytes = 0;
  private appended = 0;
  private written = 0;
  private synced = 0;
  private running = false;
  private failure: unknown;
  private readonly syncWaiters: SyncWaiter[] = [];
  private roomWaiters: Array<() => void> = [];
  bytes = 0;

  /** `previous` settles when the journal before this one is synced: a sync here waits for it,
   * so a durable record never follows a lost one from an older journal. */
  constructor(readonly journalNumber: number, private readonly file: Promise<JournalFile>, private readonly previous: Promise<void>, key: Buffer) {
    super(key);
    file.catch(() => undefined); // a failed create surfaces through the first append or sync
  }

  /** Queues one encoded record (its pieces, written contiguously in order) and returns its
   * position. It is readable (readAt) at once, by replay once written, durable after sync(). */
  append(record: readonly Buffer[]): number {
    if (this.failure) throw this.failure;
    let length = 0;
    for (const piece of record) length += piece.length;
    const at = this.bytes;
    this.pending.push(record);
    this.unwritten.set(at, record);
    this.pendingBytes += length;
    this.bytes += length;
    this.appended += 1;
    void this.run();
    return at;
  }

  protected async readRaw(at: number, bytes: number): Promise<Buffer> {
    const queued = this.unwritten.get(at);
    if (queued) return Buffer.concat(queued as Buffer[], bytes);
    assert(at + bytes <= this.writtenBytes, 'a record is queued or written');
    return (await this.file).read(at, bytes);
  }

  /** Resolves once the queue has room (backpressure for writers). */
  async room(): Promise<void> {
    while (this.pendingBytes > journalPendingBytesMax && !this.failure) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.failure) throw this.failure;
  }

  /** Resolves when every record appended before this call is durable. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.synced >= this.appended) return this.previous;
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ target: this.appended, resolve, reject });
      void this.run();
    });
  }

  /** Syncs everything, waits for reads of its records, then closes the file. */
  async close(): Promise<void> {
    try { await this.sync(); } finally {
      await this.readsDone();
      await (await this.file).close();
    }
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        if (this.pending.length > 0) await this.writeSome();
        else if (this.syncWaiters.length > 0) await this.syncAll();
        else break;
      }
    } catch (error) {
      this.failure = error;
      for (const waiter of this.syncWaiters.splice(0)) waiter.reject(error);
      for (const wake of this.roomWaiters.splice(0)) wake();
    } finally {
      this.running = false;
    }
  }

  private async writeSome(): Promise<void> {
    let bytes = 0;
    let count = 0;
    const batch: Buffer[] = [];
    while (count < this.pending.length) {
      const record = this.pending[count];
      let length = 0;
      for (const piece of record) length += piece.length;
      if (count > 0 && bytes + length > journalWriteBytesMax) break;
      batch.push(...record);
      bytes += length;
      count += 1;
    }
    const records = this.pending.splice(0, count);
    await (await this.file).append(batch);
    // In one turn: a record leaves `unwritten` exactly when writtenBytes covers it.
    for (const record of records) {
      this.unwritten.delete(this.writtenBytes);
      for (const piece of record) this.writtenBytes += piece.length;
    }
    this.pendingBytes -= bytes;
    this.written += count;
    if (this.pendingBytes <= journalPendingBytesMax) for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private async syncAll(): Promise<void> {
    const target = this.written;
    await this.previous;
    await (await this.file).sync();
    assert(target >= this.synced, 'synced count only grows');
    this.synced = target;
    const ready = this.syncWaiters.filter((waiter) => waiter.target <= target);
    this.syncWaiters.splice(0, this.syncWaiters.length, ...this.syncWaiters.filter((waiter) => waiter.target > target));
    for (const waiter of ready) waiter.resolve();
  }
}
