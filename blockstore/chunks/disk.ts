// The file-system seam of the segment store: the real one (node:fs) and, in tests, a simulated
// faulty disk (simulated-disk.ts) that loses unsynced writes on crash and injects faults.
import { read } from 'node:fs';
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';

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
 * A FileHandle whose positional reads go through fs.read's callback on its descriptor. A 4 KiB
 * read from the page cache cost the main thread ~15 µs through FileHandle.read and ~5 through
 * the callback (measured alone: 100k random reads, 32 in flight); volume random reads are
 * bound by the main thread, and that dispatch was about a third of each read's cost there.
 * The descriptor stays valid while the handle is open, and SegmentFile never reads after close.
 */
class NodeDiskFile implements DiskFile {
  constructor(private readonly handle: FileHandle) {}

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
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

export const nodeDisk: Disk = {
  open: async (path, flags) => new NodeDiskFile(await open(path, flags)),
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
