// The file-system seam of the segment store: the real one (node:fs) and, in tests, a simulated
// faulty disk (simulated-disk.ts) that loses unsynced writes on crash and injects faults.
import { mkdir, open, readdir, unlink } from 'node:fs/promises';

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

export const nodeDisk: Disk = {
  open: (path, flags) => open(path, flags),
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
