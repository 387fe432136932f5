// The file-system seam of the segment store: the real one (node:fs) and, in tests, a simulated
// faulty disk (simulated-disk.ts) that loses unsynced writes on crash and injects faults.
import { read, readSync } from 'node:fs';
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { diskReadLimits } from './limits.js';

export interface DiskFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  writev(buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface Disk {
  /** 'wx+' creates (fails if present); 'r+' opens an existing file. */
  open(path: string, flags: 'wx+' | 'r+'): Promise<DiskFile>;
  unlink(path: string): Promise<void>;
  readdir(directory: string): Promise<string[]>;
  mkdir(directory: string): Promise<void>;
  /** A created or unlinked file is durable only once its directory entry is. */
  fsyncDirectory(directory: string): Promise<void>;
}

/**
 * Whether a positional read runs synchronously on the calling thread: small ones do while the
 * last ones came from the page cache. One that went to the disk blocked the event loop, and sends
 * reads to libuv's pool for a backoff. Wall time alone cannot tell: a disk read here takes ~0.1
 * ms, a preempted cached read as long; so a read past syncReadSuspectMs looks at the process's
 * block-input count (getrusage, ~3 µs) and one past syncReadSlowMs closes the gate whatever the
 * cause. limits.ts (diskReadLimits) has the figures.
 */
export class SyncReadGate {
  private closedUntil = Number.NEGATIVE_INFINITY;
  private blockReadsSeen: number | undefined;

  constructor(
    readonly now: () => number = () => performance.now(),
    private readonly blockReads: () => number = () => process.resourceUsage().fsRead,
    private readonly limits = diskReadLimits,
  ) {}

  allows(length: number): boolean {
    if (length > this.limits.syncReadBytesMax || this.now() < this.closedUntil) return false;
    this.blockReadsSeen ??= this.blockReads();
    return true;
  }

  /** A synchronous read that started at `startedMs` has returned. */
  finished(startedMs: number): void {
    const now = this.now();
    const took = now - startedMs;
    if (took <= this.limits.syncReadSuspectMs) return;
    const blockReads = this.blockReads();
    const fromDisk = this.blockReadsSeen !== undefined && blockReads > this.blockReadsSeen;
    this.blockReadsSeen = blockReads;
    if (fromDisk || took > this.limits.syncReadSlowMs) this.closedUntil = now + this.limits.syncReadBackoffMs;
  }
}

/**
 * A FileHandle whose positional reads go to its descriptor: synchronously when the gate allows,
 * else through fs.read's callback (a 4 KiB read cost the main thread ~15 µs through
 * FileHandle.read, ~5 through the callback: 100k random reads, 32 in flight). The descriptor
 * stays valid while the handle is open, and SegmentFile never reads after close.
 */
class NodeDiskFile implements DiskFile {
  constructor(private readonly handle: FileHandle, private readonly gate: SyncReadGate) {}

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (this.gate.allows(length)) {
      const started = this.gate.now();
      try {
        return Promise.resolve({ bytesRead: readSync(this.handle.fd, buffer, offset, length, position) });
      } catch (error) {
        return Promise.reject(error as Error);
      } finally {
        this.gate.finished(started);
      }
    }
    return new Promise((resolve, reject) => {
      read(this.handle.fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve({ bytesRead })));
    });
  }

  writev(buffers: Uint8Array[], position: number): Promise<{ bytesWritten: number }> {
    return this.handle.writev(buffers, position);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  stat(): Promise<{ size: number }> {
    return this.handle.stat();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** One gate per process: the page cache, and the event loop a slow read blocks, are shared. */
const syncReadGate = new SyncReadGate();

export const nodeDisk: Disk = {
  open: async (path, flags) => new NodeDiskFile(await open(path, flags), syncReadGate),
  unlink: (path) => unlink(path),
  readdir: (directory) => readdir(directory),
  mkdir: async (directory) => { await mkdir(directory, { recursive: true }); },
  fsyncDirectory: async (directory) => {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
