// The durable write journal of a volume: append-only files, one writer per open volume, group
// commit (one fdatasync covers every record appended before it — LIMITS.md: ~71k appends/s at 32
// per fsync against ~6k with one fsync each). The volume is the only writer of its journal, so
// FLUSH on any connection syncs every connection's writes: that is what makes multi-conn true.
//
// Durability contract of JournalFile: append() resolves when the bytes are in the kernel (they
// survive kill -9 of this process); sync() resolves when every appended byte survives power loss.
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../dedup/index.js';
import { journalPendingBytesMax, journalWriteBytesMax } from './limits.js';
import type { VolumeId } from './records.js';

export interface JournalFile {
  append(buffers: readonly Buffer[]): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Where journal files live. Numbers of one volume are returned ascending. */
export interface JournalStore {
  list(volume: VolumeId): Promise<number[]>;
  read(volume: VolumeId, journalNumber: number): Promise<Buffer>;
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

  read(volume: VolumeId, journalNumber: number): Promise<Buffer> {
    return readFile(this.path(volume, journalNumber));
  }

  async create(volume: VolumeId, journalNumber: number): Promise<JournalFile> {
    await mkdir(this.dir, { recursive: true });
    const handle = await open(this.path(volume, journalNumber), 'wx');
    // The new name must survive power loss before its records are called durable.
    const directory = await open(this.dir, 'r');
    try { await directory.sync(); } finally { await directory.close(); }
    return new HandleJournalFile(handle);
  }

  async remove(volume: VolumeId, journalNumber: number): Promise<void> {
    await rm(this.path(volume, journalNumber), { force: true });
  }
}

class HandleJournalFile implements JournalFile {
  constructor(private readonly handle: FileHandle) {}

  async append(buffers: readonly Buffer[]): Promise<void> {
    let rest = [...buffers];
    // writev may write less than asked; loop until the kernel has every byte (bounded by bytes).
    while (rest.length > 0) {
      const { bytesWritten } = await this.handle.writev(rest);
      let skip = bytesWritten;
      while (rest.length > 0 && skip >= rest[0].length) skip -= rest.shift()!.length;
      if (rest.length > 0 && skip > 0) rest[0] = rest[0].subarray(skip);
    }
  }

  sync(): Promise<void> { return this.handle.datasync(); }
  close(): Promise<void> { return this.handle.close(); }
}

/** In-memory journals for unit tests; `crash()` keeps exactly what a kill -9 would keep. */
export class MemoryJournalStore implements JournalStore {
  readonly files = new Map<string, Buffer[]>();

  async list(volume: VolumeId): Promise<number[]> {
    return [...this.files.keys()].filter((key) => key.startsWith(`${volume}.`)).map((key) => Number(key.split('.')[1])).sort((a, b) => a - b);
  }

  async read(volume: VolumeId, journalNumber: number): Promise<Buffer> {
    return Buffer.concat(this.files.get(`${volume}.${journalNumber}`) ?? []);
  }

  async create(volume: VolumeId, journalNumber: number): Promise<JournalFile> {
    const key = `${volume}.${journalNumber}`;
    assert(!this.files.has(key), 'journal numbers are never reused');
    const pieces: Buffer[] = [];
    this.files.set(key, pieces);
    return {
      append: async (buffers) => { for (const buffer of buffers) pieces.push(Buffer.from(buffer)); },
      sync: async () => {},
      close: async () => {},
    };
  }

  async remove(volume: VolumeId, journalNumber: number): Promise<void> {
    this.files.delete(`${volume}.${journalNumber}`);
  }
}

interface SyncWaiter { target: number; resolve: () => void; reject: (error: unknown) => void }

/** Appends records to one JournalFile in order with group commit. */
export class JournalWriter {
  /** Records not yet handed to the file, each as its pieces (journal-format.ts). */
  private pending: Array<readonly Buffer[]> = [];
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
  constructor(readonly journalNumber: number, private readonly file: Promise<JournalFile>, private readonly previous: Promise<void>) {
    file.catch(() => undefined); // a failed create surfaces through the first append or sync
  }

  /** Queues one encoded record (its pieces, written contiguously in order). It is readable by
   * replay once written; durable after sync(). */
  append(record: readonly Buffer[]): void {
    if (this.failure) throw this.failure;
    let length = 0;
    for (const piece of record) length += piece.length;
    this.pending.push(record);
    this.pendingBytes += length;
    this.bytes += length;
    this.appended += 1;
    void this.run();
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

  /** Syncs everything, then closes the file. */
  async close(): Promise<void> {
    try { await this.sync(); } finally { await (await this.file).close(); }
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
    this.pending.splice(0, count);
    await (await this.file).append(batch);
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
