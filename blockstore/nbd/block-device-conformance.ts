// The one shared suite for the BlockDevice contract (STYLE §4): every implementation's test calls
// describeBlockDeviceConformance with a factory of fresh, writable, empty devices of the given size
// (≥ 4 MiB). MemoryBlockDevice runs it in memory-block-device.test.ts; the volumes layer should run
// it too. It checks only what block-device.ts promises, never implementation details.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlockDevice, BlockExtent } from './block-device.js';
import { isNbdError } from './errors.js';

const mebibyte = 1 << 20;

/** Deterministic pseudo-random bytes (AES-CTR keystream): fast, and never zeros. */
function pattern(length: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Buffer equality by memcmp: vitest's deep toEqual walks megabytes byte by byte. */
function expectBytes(actual: Buffer, expected: Buffer, what = 'bytes'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  expect(actual.equals(expected), `${what}: content`).toBe(true);
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
      expectBytes(await device.read(12345, 7000), Buffer.alloc(7000));
      expect((await device.read(size - 1, 1)).length).toBe(1);
    });

    it('reads back writes, including unaligned ones spanning blocks, and the last byte', async () => {
      const device = await makeDevice(size);
      const data = pattern(200_000, 1);
      await device.write(65_530, data, false);
      expectBytes(await device.read(65_530, data.length), data);
      await device.write(size - 3, Buffer.from([1, 2, 3]), true);
      expectBytes(await device.read(size - 4, 4), Buffer.from([0, 1, 2, 3]));
      await device.flush();
    });

    it('does not keep the write buffer: changing it after the write settles changes nothing', async () => {
      const device = await makeDevice(size);
      const data = pattern(8192, 2);
      await device.write(0, data, false);
      data.fill(0xee);
      expectBytes(await device.read(0, 8192), pattern(8192, 2));
    });

    it('hands out read buffers the caller owns: changing one does not change the device', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(4096, 3), false);
      const first = await device.read(0, 4096);
      first.fill(0);
      expectBytes(await device.read(0, 4096), pattern(4096, 3));
    });

    it('writeZeroes reads back as zeros with and without noHole, and leaves neighbours alone', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(3 * mebibyte, 4), false);
      await device.writeZeroes(mebibyte + 100, mebibyte, { fua: false, noHole: false, fastZero: false });
      await device.writeZeroes(100, 1000, { fua: true, noHole: true, fastZero: false });
      expectBytes(await device.read(mebibyte + 100, mebibyte), Buffer.alloc(mebibyte));
      expectBytes(await device.read(100, 1000), Buffer.alloc(1000));
      expectBytes(await device.read(0, 100), pattern(100, 4));
      expectBytes(await device.read(2 * mebibyte + 100, 1000), pattern(3 * mebibyte, 4).subarray(2 * mebibyte + 100, 2 * mebibyte + 1100));
    });

    it('writeZeroes with fastZero either zeroes or throws ENOTSUP leaving the data unchanged', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(65536, 5), false);
      try {
        await device.writeZeroes(0, 65536, { fua: false, noHole: false, fastZero: true });
        expectBytes(await device.read(0, 65536), Buffer.alloc(65536));
      } catch (error) {
        expect(isNbdError(error) && error.code).toBe('ENOTSUP');
        expectBytes(await device.read(0, 65536), pattern(65536, 5));
      }
    });

    it('trim leaves untouched neighbours intact', async () => {
      const device = await makeDevice(size);
      await device.write(0, pattern(mebibyte, 6), false);
      await device.trim(65536, 131072, false);
      expectBytes(await device.read(0, 65536), pattern(mebibyte, 6).subarray(0, 65536));
      expectBytes(await device.read(196608, 65536), pattern(mebibyte, 6).subarray(196608, 262144));
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
          if (extent.zero) expectBytes(await device.read(position, extent.length), Buffer.alloc(extent.length));
          position += extent.length;
        }
      }
    });

    it('serves concurrent non-overlapping writes and reads', async () => {
      const device = await makeDevice(size);
      await Promise.all(Array.from({ length: 32 }, (_, index) => device.write(index * 65536, pattern(65536, 100 + index), false)));
      const reads = await Promise.all(Array.from({ length: 32 }, (_, index) => device.read(index * 65536, 65536)));
      reads.forEach((data, index) => expectBytes(data, pattern(65536, 100 + index)));
    });
  });
}
