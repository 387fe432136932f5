// One NBD connection's view of a shared Volume: the size is fixed when the handle opens
// (block-device.ts: "a resize is seen by handles opened afterwards"); everything else delegates.
import type { BlockDevice, BlockExtent } from './deps.js';
import type { Volume } from './volume.js';

export class VolumeHandle implements BlockDevice {
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  readonly canMultiConn: boolean;

  constructor(private readonly volume: Volume) {
    this.sizeBytes = volume.sizeBytes;
    this.readOnly = volume.readOnly;
    this.canMultiConn = volume.canMultiConn;
  }

  read(offset: number, length: number): Promise<Buffer> { return this.volume.read(offset, length); }
  write(offset: number, data: Buffer, fua: boolean): Promise<void> { return this.volume.write(offset, data, fua); }
  flush(): Promise<void> { return this.volume.flush(); }
  trim(offset: number, length: number, fua: boolean): Promise<void> { return this.volume.trim(offset, length, fua); }
  writeZeroes(offset: number, length: number, options: { fua: boolean; noHole: boolean; fastZero: boolean }): Promise<void> {
    return this.volume.writeZeroes(offset, length, options);
  }
  blockStatus(offset: number, length: number): Promise<BlockExtent[]> { return this.volume.blockStatus(offset, length); }
}
