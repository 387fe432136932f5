// A simulated faulty disk for the chunk store (STYLE.md §9), driven by one seed. It keeps, per
// file, what reads see (volatile) and what survives a crash (durable, updated by datasync), and
// per directory which names survive (updated by fsyncDirectory). crash() rebuilds the disk from
// the durable state plus a random subset of unsynced 4 KiB pages (writeback order is not write
// order, so torn and holed tails happen), and fences every handle of the previous life.
// Faults: transient bit flips on read, EIO on write or datasync.
import { basename, dirname } from 'node:path';
import { assert } from '../../dedup/errors.js';
import type { Disk, DiskFile } from './disk.js';
import type { SeededRandom } from './seeded-random.js';

interface SimulatedFile { volatile: Buffer; durable: Buffer }
export interface DiskFaults { readFlipRate: number; writeErrorRate: number; syncErrorRate: number }

const pageBytes = 4096;
const ioError = (what: string): Error => Object.assign(new Error(`EIO (simulated): ${what}`), { code: 'EIO' });

export class SimulatedDisk {
  faults: DiskFaults = { readFlipRate: 0, writeErrorRate: 0, syncErrorRate: 0 };
  private files = new Map<string, SimulatedFile>();
  private durableNames = new Map<string, SimulatedFile>();
  private life = 0;

  constructor(private readonly random: SeededRandom) {}

  /** The disk as seen by the current process life; every call from an older life fails. */
  view(): Disk {
    const life = this.life;
    const alive = (what: string): void => { if (life !== this.life) throw ioError(`${what} from a dead process`); };
    return {
      open: async (path, flags) => { alive('open'); return this.open(path, flags); },
      unlink: async (path) => { alive('unlink'); return this.unlink(path); },
      readdir: async (directory) => { alive('readdir'); return this.readdir(directory); },
      mkdir: async () => { alive('mkdir'); },
      fsyncDirectory: async (directory) => { alive('fsync directory'); return this.fsyncDirectory(directory); },
    };
  }

  /** kill -9: the page cache survives, the process's handles do not. */
  killProcess(): void {
    this.life++;
  }

  private async open(path: string, flags: 'wx+' | 'r+'): Promise<DiskFile> {
    let file = this.files.get(path);
    if (flags === 'wx+') {
      if (file !== undefined) throw Object.assign(new Error(`EEXIST ${path}`), { code: 'EEXIST' });
      file = { volatile: Buffer.alloc(0), durable: Buffer.alloc(0) };
      this.files.set(path, file);
    } else if (file === undefined) {
      throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    }
    return this.handleFor(file);
  }

  private async unlink(path: string): Promise<void> {
    assert(this.files.delete(path), `unlink of missing ${path}`);
  }

  private async readdir(directory: string): Promise<string[]> {
    return [...this.files.keys()].filter((path) => dirname(path) === directory).map((path) => basename(path));
  }

  private async fsyncDirectory(directory: string): Promise<void> {
    for (const path of [...this.durableNames.keys()]) if (dirname(path) === directory) this.durableNames.delete(path);
    for (const [path, file] of this.files) if (dirname(path) === directory) this.durableNames.set(path, file);
  }

  /** Power loss: durable state plus a random subset of unsynced pages; old handles die. */
  crash(): void {
    this.life++;
    const survivors = new Map<string, SimulatedFile>();
    for (const [path, file] of this.durableNames) {
      const content = this.tear(file);
      survivors.set(path, { volatile: content, durable: Buffer.from(content) });
    }
    this.files = survivors;
    this.durableNames = new Map(survivors);
  }

  private tear(file: SimulatedFile): Buffer {
    const { volatile, durable } = file;
    const low = Math.min(volatile.length, durable.length);
    const high = Math.max(volatile.length, durable.length);
    const length = this.random.between(low, high);
    const content = Buffer.alloc(length);
    durable.copy(content, 0, 0, Math.min(length, durable.length));
    for (let page = 0; page < length; page += pageBytes) {
      const end = Math.min(page + pageBytes, length);
      const differs = !volatile.subarray(page, end).equals(durable.subarray(page, end));
      if (differs && this.random.next() < 0.5) volatile.copy(content, page, page, Math.min(end, volatile.length));
    }
    return content;
  }

  private handleFor(file: SimulatedFile): DiskFile {
    const life = this.life;
    const alive = (what: string): void => { if (life !== this.life) throw ioError(`${what} after crash`); };
    return {
      read: async (buffer, offset, length, position) => {
        alive('read');
        const bytesRead = Math.max(0, Math.min(length, file.volatile.length - position));
        file.volatile.copy(buffer, offset, position, position + bytesRead);
        if (bytesRead > 0 && this.random.next() < this.faults.readFlipRate) buffer[offset + this.random.between(0, bytesRead - 1)] ^= 1 << this.random.between(0, 7);
        return { bytesRead };
      },
      writev: async (buffers, position) => {
        alive('write');
        if (this.random.next() < this.faults.writeErrorRate) throw ioError('write');
        let at = position;
        for (const piece of buffers) {
          if (file.volatile.length < at + piece.length) {
            const grown = Buffer.alloc(at + piece.length);
            file.volatile.copy(grown);
            file.volatile = grown;
          }
          file.volatile.set(piece, at);
          at += piece.length;
        }
        return { bytesWritten: at - position };
      },
      datasync: async () => {
        alive('datasync');
        if (this.random.next() < this.faults.syncErrorRate) throw ioError('datasync');
        file.durable = Buffer.from(file.volatile);
      },
      truncate: async (length) => {
        alive('truncate');
        file.volatile = Buffer.from(file.volatile.subarray(0, length));
      },
      stat: async () => { alive('stat'); return { size: file.volatile.length }; },
      close: async () => undefined,
    };
  }
}
