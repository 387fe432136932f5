// FileStorage: the durable implementation of the Storage contract (raft/core/storage.ts).
// One append-only log file of framed records (entries and hard states, record-codec.ts) and one
// snapshot file replaced atomically (snapshot-file.ts). Durability: writes reach the OS when a
// call returns and the disk when sync() returns — the shell calls sync() when Ready.mustSync.
// Recovery (open): a torn or corrupt tail is cut at the last whole record, never replayed; entries
// the snapshot covers, or that diverge from it, are dropped, and the file is rewritten clean.
// All calls are synchronous: one write and at most one fsync per Ready (group commit).
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StoredLog, assert, bootstrapSnapshot } from '../core/index.js';
import type { Entry, HardState, LogIndex, Membership, Snapshot, Term, WritableStorage } from '../core/index.js';
import { decodeRecord, encodeRecord, type RecordV1 } from './record-codec.js';
import { encodeSnapshot, readSnapshotFile, syncDirectory, writeFileAtomically } from './snapshot-file.js';

const logName = 'raft.log';
const snapshotName = 'raft.snapshot';

export interface Recovery {
  /** Bytes cut from the end of the log file because they were not whole, valid records. */
  readonly tornBytes: number;
  readonly droppedEntries: number;
}

export class FileStorage extends StoredLog implements WritableStorage {
  private fd: number;
  private size = 0;
  /** offsets[k]: file offset of log[k]'s record, for truncating a replaced tail. */
  private offsets: number[] = [];
  recovery: Recovery = { tornBytes: 0, droppedEntries: 0 };

  /** Opens (creating if absent) the store in `directory`; a new store gets `membership`. */
  constructor(private readonly directory: string, membership: Membership) {
    mkdirSync(directory, { recursive: true });
    super(readSnapshotFile(directory, snapshotName) ?? bootstrapSnapshot(membership));
    const path = join(directory, logName);
    if (!existsSync(path)) writeFileAtomically(directory, logName, new Uint8Array());
    this.fd = openSync(path, 'r+');
    this.recover(readFileSync(path));
  }

  private recover(bytes: Uint8Array): void {
    const snapshotIndex = this.currentSnapshot.meta.index;
    let offset = 0;
    let dropped = 0;
    let diverged = false;
    for (;;) {
      const decoded = decodeRecord(bytes, offset);
      if (!decoded) break;
      const record = decoded.record;
      if (record.kind === 'hardState') {
        this.state = record.hardState;
      } else if (record.entry.index <= snapshotIndex || diverged) {
        // Covered by the snapshot; one at its index with another term means what follows it was
        // a different history that the snapshot replaced (a crash mid applySnapshot).
        if (record.entry.index === snapshotIndex && record.entry.term !== this.currentSnapshot.meta.term) diverged = true;
        dropped++;
      } else {
        assert(record.entry.index === this.lastIndex() + 1, `log file jumps to ${record.entry.index} after ${this.lastIndex()}`);
        this.offsets.push(offset);
        this.log.push(record.entry);
      }
      offset = decoded.next;
    }
    this.size = offset;
    this.recovery = { tornBytes: bytes.length - offset, droppedEntries: dropped };
    if (dropped > 0) this.rewrite();
    else if (offset < bytes.length) {
      ftruncateSync(this.fd, offset);
      fsyncSync(this.fd);
    }
    // A commit beyond the log means synced entries vanished: the disk lied; stop, do not guess.
    assert(this.state.commit <= this.lastIndex(), `recovered commit ${this.state.commit} beyond last ${this.lastIndex()}`);
  }

  setHardState(hardState: HardState): void {
    this.state = hardState;
    this.write([{ kind: 'hardState', hardState }]);
  }

  append(entries: readonly Entry[]): void {
    const fresh = entries.filter((entry) => entry.index > this.currentSnapshot.meta.index);
    if (fresh.length === 0) return;
    const first = fresh[0].index;
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`);
    const records: RecordV1[] = [];
    if (first <= this.lastIndex()) {
      // Replace the tail: cut the file where the first replaced entry began, then restate the
      // hard state, whose latest record may have been cut with it.
      const keep = first - this.firstIndex();
      this.size = this.offsets[keep];
      ftruncateSync(this.fd, this.size);
      this.log.length = keep;
      this.offsets.length = keep;
      records.push({ kind: 'hardState', hardState: this.state });
    }
    let expected = this.lastIndex() + 1;
    for (const entry of fresh) {
      assert(entry.index === expected++, 'append batch is not contiguous');
      records.push({ kind: 'entry', entry });
    }
    this.write(records);
  }

  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.meta.index >= this.currentSnapshot.meta.index, 'snapshot older than the stored one');
    writeFileAtomically(this.directory, snapshotName, encodeSnapshot(snapshot));
    this.currentSnapshot = snapshot;
    this.log = [];
    this.offsets = [];
    this.rewrite();
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.currentSnapshot.meta.index) return;
    assert(index <= this.lastIndex() && this.term(index) === snapshot.meta.term, `compact at ${index} does not match the log`);
    writeFileAtomically(this.directory, snapshotName, encodeSnapshot(snapshot));
    this.log = this.log.slice(index - this.currentSnapshot.meta.index);
    this.currentSnapshot = snapshot;
    this.rewrite();
  }

  /** Makes every write so far durable. */
  sync(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(records: readonly RecordV1[]): void {
    const frames = records.map(encodeRecord);
    const total = frames.reduce((sum, frame) => sum + frame.length, 0);
    const buffer = new Uint8Array(total);
    let at = 0;
    for (let k = 0; k < frames.length; k++) {
      const record = records[k];
      if (record.kind === 'entry') {
        this.log.push(record.entry);
        this.offsets.push(this.size + at);
      }
      buffer.set(frames[k], at);
      at += frames[k].length;
    }
    writeSync(this.fd, buffer, 0, buffer.length, this.size);
    this.size += buffer.length;
  }

  /** Rewrites the log file to hold exactly the hard state and the entries after the snapshot. */
  private rewrite(): void {
    const entries = this.log;
    this.log = [];
    this.offsets = [];
    const temporary = join(this.directory, `${logName}.tmp`);
    closeSync(this.fd);
    this.fd = openSync(temporary, 'w+');
    this.size = 0;
    this.write([{ kind: 'hardState', hardState: this.state }, ...entries.map((entry): RecordV1 => ({ kind: 'entry', entry }))]);
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(temporary, join(this.directory, logName));
    syncDirectory(this.directory);
    this.fd = openSync(join(this.directory, logName), 'r+');
  }
}
