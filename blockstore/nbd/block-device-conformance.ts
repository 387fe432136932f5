// The one shared suite for the BlockDevice contract (STYLE §4): every implementation's test calls
// describeBlockDeviceConformance with a factory of fresh, writable, empty devices of the given size
// (≥ 4 MiB). MemoryBlockDevice runs it in memory-block-device.test.ts; the volumes layer should run
// it too. It checks only what block-device.ts promises, never implementation details.
import { describe, expect, it } from 'vitest';
import type { BlockDevice, BlockExtent } from './block-device.js';
import { isNbdError } from './errors.js';

const mebibyte = 1 << 20;

function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < length; index += 1) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

function total(extents: readonly BlockExtent[]): number {
  return extents.reduce((sum, extent) => sum + extent.length, 0);
}

export function describeBlockDeviceConformance(name: string, makeDevice: (sizeBytes: number) => Promise<BlockDevice>): void {
  const size = 4 * mebibyte;
  describe(`BlockDevice conformance: ${name}`, () => {
    it('reads zeros where nothing was written, with the exact length asked', async () => {
      const device = await makeDevice(size);
      expect(device.sizeBytes).toBe(size);
      expect(await device.read(12345, 7000)).toEqual(Buffer.alloc(7000));
      expect((await device.read(size - 1, 1)).length).toBe(1);
    });

    it('reads back writes, including unaligned ones spanning blocks, and the last byte', async () => {
      const device = await makeDevice(size);
      const data = pattern(200_000, 1);
      await device.write(65_530, data, false);
      expect(await device.read(65_530, data.length)).toEqual(data);
      await device.write(size - 3, Buffer.from([1, 2, 3]), true);
      expect(await device.read(size - 4, 4)).toEqual(Buffer.from([0, 1, 2, 3]));
      await device.flush();
    });

    it('does not keep the write buffer: changing it after the write settles changes nothing', async () => {
      const device = await makeDevice(size);
      const data = pattern(8192, 2);
      await device.write(0, data, false);
      data.fill(0xee);
      expect(await device.read(0, 8192)).toEqual(pattern(8192, 2));
    });

    it('hands out read buffers the caller owns: changing one does not change the device', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(4096, 3), false);
      const first = await device.read(0, 4096);
      first.fill(0);
      expect(await device.read(0, 4096)).toEqual(pattern(4096, 3));
    });

    it('writeZeroes reads back as zeros with and without noHole, and leaves neighbours alone', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(3 * mebibyte, 4), false);
      await device.writeZeroes(mebibyte + 100, mebibyte, { fua: false, noHole: false, fastZero: false });
      await device.writeZeroes(100, 1000, { fua: true, noHole: true, fastZero: false });
      expect(await device.read(mebibyte + 100, mebibyte)).toEqual(Buffer.alloc(mebibyte));
      expect(await device.read(100, 1000)).toEqual(Buffer.alloc(1000));
      expect(await device.read(0, 100)).toEqual(pattern(100, 4));
      expect(await device.read(2 * mebibyte + 100, 1000)).toEqual(pattern(3 * mebibyte, 4).subarray(2 * mebibyte + 100, 2 * mebibyte + 1100));
    });

    it('writeZeroes with fastZero either zeroes or throws ENOTSUP leaving the data unchanged', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(65536, 5), false);
      try {
        await device.writeZeroes(0, 65536, { fua: false, noHole: false, fastZero: true });
        expect(await device.read(0, 65536)).toEqual(Buffer.alloc(65536));
      } catch (error) {
        expect(isNbdError(error) && error.code).toBe('ENOTSUP');
        expect(await device.read(0, 65536)).toEqual(pattern(65536, 5));
      }
    });

    it('trim leaves untouched neighbours intact', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(mebibyte, 6), false);
      await device.trim(65536, 131072, false);
      expect(await device.read(0, 65536)).toEqual(pattern(mebibyte, 6).subarray(0, 65536));
      expect(await device.read(196608, 65536)).toEqual(pattern(mebibyte, 6).subarray(196608, 262144));
    });

    it('blockStatus describes consecutive non-empty extents from the offset, never more than asked, zero ones truly zero', async () => {
      const device = await makeDevice(size);
      await device.write(mebibyte, pattern(mebibyte, 7), false);
      for (const [offset, length] of [[0, size], [mebibyte - 10, 20], [size - 1, 1]] as const) {
        const extents = await device.blockStatus(offset, length);
        expect(extents.length).toBeGreaterThan(0);
        expect(extents.every((extent) => extent.length > 0)).toBe(true);
        expect(total(extents)).toBeLessThanOrEqual(length);
        let position = offset;
        for (const extent of extents) {
          if (extent.zero) expect(await device.read(position, extent.length)).toEqual(Buffer.alloc(extent.length));
          position += extent.length;
        }
      }
    });

    it('serves concurrent non-overlapping writes and reads', async () => {
      const device = await makeDevice(size);
      await Promise.all(Array.from({ length: 32 }, (_, index) => device.write(index * 65536, pattern(65536, 100 + index), false)));
      const reads = await Promise.all(Array.from({ length: 32 }, (_, index) => device.read(index * 65536, 65536)));
      reads.forEach((data, index) => expect(data).toEqual(pattern(65536, 100 + index)));
    });
  });
}
