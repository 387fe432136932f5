// One segment file: a reused file handle, positional reads and writes, and reader accounting so
// that GC can retire a segment while a get() is still reading it (the unlinked file stays
// readable through the open handle until the last reader releases it).
import { join } from 'node:path';
import { assert } from '../../dedup/errors.js';
import { encodeSegmentHeaderV1, segmentFileNameOf, segmentHeaderBytes } from './segment-format.js';
import type { Disk, DiskFile } from './disk.js';

export class SegmentFile {
  /** Bytes written so far (header included); the next record goes here. */
  size: number;
  private readers = 0;
  private retired = false;
  private closed = false;

  private constructor(
    readonly segmentNumber: number,
    readonly path: string,
    private readonly disk: Disk,
    private readonly handle: DiskFile,
    size: number,
  ) {
    this.size = size;
  }

  /** Creates the file with its header, durable (file and directory entry) before it returns. */
  static async create(disk: Disk, directory: string, segmentNumber: number): Promise<SegmentFile> {
    const path = join(directory, segmentFileNameOf(segmentNumber));
    const handle = await disk.open(path, 'wx+');
    const header = encodeSegmentHeaderV1({ version: 1, segmentNumber });
    await writeAll(handle, [header], 0);
    await handle.datasync();
    await disk.fsyncDirectory(directory);
    return new SegmentFile(segmentNumber, path, disk, handle, segmentHeaderBytes);
  }

  static async open(disk: Disk, directory: string, segmentNumber: number): Promise<SegmentFile> {
    const path = join(directory, segmentFileNameOf(segmentNumber));
    const handle = await disk.open(path, 'r+');
    const { size } = await handle.stat();
    return new SegmentFile(segmentNumber, path, disk, handle, size);
  }

  /** Reads up to `length` bytes at `position` (into the start of `into`, if given); shorter only at end of file. */
  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    assert(!this.closed, `segment ${this.segmentNumber} read after close`);
    assert(into === undefined || into.length >= length, 'read target holds the read');
    const buffer = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async write(buffers: readonly Uint8Array[], position: number): Promise<void> {
    assert(!this.retired && !this.closed, `segment ${this.segmentNumber} written after retire`);
    await writeAll(this.handle, buffers, position);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  async truncate(length: number): Promise<void> {
    assert(length >= segmentHeaderBytes && length <= this.size, 'truncate within the written part');
    await this.handle.truncate(length);
    await this.handle.datasync();
    this.size = length;
  }

  /** Returns false when the segment is already retired; the caller re-reads the index. */
  acquire(): boolean {
    if (this.retired) return false;
    this.readers++;
    return true;
  }

  async release(): Promise<void> {
    assert(this.readers > 0, 'segment released more often than acquired');
    this.readers--;
    if (this.retired && this.readers === 0) await this.closeHandle();
  }

  /** Unlinks the file (durably) and closes the handle once no reader holds it. */
  async retire(directory: string): Promise<void> {
    assert(!this.retired, `segment ${this.segmentNumber} retired twice`);
    this.retired = true;
    await this.disk.unlink(this.path);
    await this.disk.fsyncDirectory(directory);
    if (this.readers === 0) await this.closeHandle();
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  private async closeHandle(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

async function writeAll(handle: DiskFile, buffers: readonly Uint8Array[], position: number): Promise<void> {
  let expected = 0;
  for (const buffer of buffers) expected += buffer.length;
  // libuv loops over IOV_MAX-sized pieces and short writes for regular files; check it did.
  const { bytesWritten } = await handle.writev(buffers as Uint8Array[], position);
  assert(bytesWritten === expected, `short segment write: ${bytesWritten} of ${expected} bytes`);
}
