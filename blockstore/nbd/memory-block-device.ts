// A sparse in-memory BlockDevice (block-device.ts): 64 KiB pages in a Map, absent page = hole of
// zeros. It is the reference implementation for the NBD tests and the bench. "Durable" means
// nothing in memory, so flush() only counts; every handle is this one object, so multi-conn holds.
import { createHash } from 'node:crypto';
import { assert } from '../../dedup/errors.js';
import type { BlockDevice, BlockExtent, ExportDescription, ExportRegistry } from './block-device.js';
import { NbdError } from './errors.js';

export const memoryPageBytes = 64 * 1024;

export interface MemoryBlockDeviceOptions {
  readOnly?: boolean;
  /** false makes writeZeroes with fastZero throw ENOTSUP, to exercise that path. */
  fastZero?: boolean;
}

export class MemoryBlockDevice implements BlockDevice {
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  readonly canMultiConn = true;
  /** Calls seen, for tests that check a flag reached the device. */
  readonly counters = { flush: 0, fua: 0, trim: 0, writeZeroes: 0, cache: 0 };
  private readonly pages: Map<number, Buffer>;
  private readonly fastZero: boolean;

  constructor(sizeBytes: number, options: MemoryBlockDeviceOptions = {}, pages?: Map<number, Buffer>) {
    assert(Number.isSafeInteger(sizeBytes) && sizeBytes >= 0, 'device size is a non-negative integer');
    this.sizeBytes = sizeBytes;
    this.readOnly = options.readOnly ?? false;
    this.fastZero = options.fastZero ?? true;
    this.pages = pages ?? new Map();
  }

  /** A read-only device with a private copy of the current content (a "snapshot" for tests). */
  readOnlyCopy(): MemoryBlockDevice {
    const pages = new Map<number, Buffer>();
    for (const [index, page] of this.pages) pages.set(index, Buffer.from(page));
    return new MemoryBlockDevice(this.sizeBytes, { readOnly: true }, pages);
  }

  /** Pages held (allocated), for tests of holes. */
  get allocatedPages(): number {
    return this.pages.size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    const target = Buffer.alloc(length);
    this.forEachPage(offset, length, (index, pageStart, pageEnd, targetStart) => {
      const page = this.pages.get(index);
      if (page) page.copy(target, targetStart, pageStart, pageEnd);
    });
    assert(target.length === length, 'read returns exactly the requested length');
    return target;
  }

  async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    this.checkRange(offset, data.length);
    assert(!this.readOnly, 'the server never writes to a read-only device');
    if (fua) this.counters.fua += 1;
    this.forEachPage(offset, data.length, (index, pageStart, pageEnd, sourceStart) => {
      let page = this.pages.get(index);
      if (!page) {
        page = Buffer.alloc(memoryPageBytes);
        this.pages.set(index, page);
      }
      data.copy(page, pageStart, sourceStart, sourceStart + (pageEnd - pageStart));
    });
  }

  async flush(): Promise<void> {
    this.counters.flush += 1;
  }

  async trim(offset: number, length: number, fua: boolean): Promise<void> {
    this.checkRange(offset, length);
    assert(!this.readOnly, 'the server never trims a read-only device');
    this.counters.trim += 1;
    if (fua) this.counters.fua += 1;
    this.zeroRange(offset, length, false);
  }

  async writeZeroes(offset: number, length: number, options: { fua: boolean; noHole: boolean; fastZero: boolean }): Promise<void> {
    this.checkRange(offset, length);
    assert(!this.readOnly, 'the server never zeroes a read-only device');
    // proto.md NBD_CMD_FLAG_FAST_ZERO: fail quickly, and without changing the export.
    if (options.fastZero && !this.fastZero) throw new NbdError('ENOTSUP', 'fast zero is not supported by this device');
    this.counters.writeZeroes += 1;
    if (options.fua) this.counters.fua += 1;
    this.zeroRange(offset, length, options.noHole);
  }

  async blockStatus(offset: number, length: number): Promise<BlockExtent[]> {
    this.checkRange(offset, length);
    const extents: BlockExtent[] = [];
    this.forEachPage(offset, length, (index, pageStart, pageEnd) => {
      const hole = !this.pages.has(index);
      const last = extents[extents.length - 1];
      if (last && last.hole === hole) last.length += pageEnd - pageStart;
      else extents.push({ length: pageEnd - pageStart, hole, zero: hole });
    });
    assert(extents.length > 0 && extents.reduce((sum, extent) => sum + extent.length, 0) === length,
      'extents cover the range exactly');
    return extents;
  }

  async cache(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    this.counters.cache += 1;
  }

  /** sha256 of the logical content (page index + bytes of every non-zero page). */
  contentDigest(): string {
    const hash = createHash('sha256');
    const zeroPage = Buffer.alloc(memoryPageBytes);
    for (const index of [...this.pages.keys()].sort((a, b) => a - b)) {
      const page = this.pages.get(index)!;
      if (page.equals(zeroPage)) continue;
      hash.update(`${index}:`);
      hash.update(page);
    }
    return hash.digest('hex');
  }

  private zeroRange(offset: number, length: number, keepAllocated: boolean): void {
    this.forEachPage(offset, length, (index, pageStart, pageEnd) => {
      const whole = pageStart === 0 && pageEnd === memoryPageBytes;
      if (whole && !keepAllocated) this.pages.delete(index);
      else if (whole) this.pages.set(index, Buffer.alloc(memoryPageBytes));
      else this.pages.get(index)?.fill(0, pageStart, pageEnd);
    });
  }

  /** Visits each page overlapping [offset, offset+length): its index, the byte range inside the
   * page, and where that range starts relative to `offset`. The last page may be partial. */
  private forEachPage(offset: number, length: number,
    visit: (index: number, pageStart: number, pageEnd: number, relativeStart: number) => void): void {
    let position = offset;
    const end = offset + length;
    while (position < end) {
      const index = Math.floor(position / memoryPageBytes);
      const pageStart = position - index * memoryPageBytes;
      const pageEnd = Math.min(memoryPageBytes, end - index * memoryPageBytes);
      visit(index, pageStart, pageEnd, position - offset);
      position += pageEnd - pageStart;
    }
  }

  private checkRange(offset: number, length: number): void {
    assert(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length > 0,
      'range is positive integers');
    assert(offset + length <= this.sizeBytes, 'range lies inside the device');
  }
}

/** A fixed set of exports for tests and the bench. */
export class MemoryExportRegistry implements ExportRegistry {
  private readonly devices: Map<string, { device: BlockDevice; description?: string }>;

  constructor(devices: Record<string, BlockDevice | { device: BlockDevice; description: string }>) {
    this.devices = new Map();
    for (const [name, entry] of Object.entries(devices)) {
      this.devices.set(name, 'device' in entry ? entry : { device: entry });
    }
  }

  async list(): Promise<ExportDescription[]> {
    return [...this.devices].map(([name, entry]) => ({ name, description: entry.description }));
  }

  async open(name: string): Promise<BlockDevice | undefined> {
    return this.devices.get(name)?.device;
  }
}
