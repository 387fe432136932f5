// Method: MemoryBlockDevice runs the shared BlockDevice conformance suite, then checks what is
// specific to it: sparseness (pages are freed by trim and hole-punching zeroes), hole reporting,
// the read-only copy, and the content digest used by the fuzz test.
import { describe, expect, it } from 'vitest';
import { describeBlockDeviceConformance } from './block-device-conformance.js';
import { MemoryBlockDevice, memoryPageBytes } from './memory-block-device.js';

describeBlockDeviceConformance('MemoryBlockDevice', async (sizeBytes) => new MemoryBlockDevice(sizeBytes));
describeBlockDeviceConformance('MemoryBlockDevice without fast zero', async (sizeBytes) => new MemoryBlockDevice(sizeBytes, { fastZero: false }));

describe('MemoryBlockDevice sparseness', () => {
  it('allocates only written pages and frees whole pages on trim and on zeroing without noHole', async () => {
    const device = new MemoryBlockDevice(16 * memoryPageBytes);
    expect(device.allocatedPages).toBe(0);
    await device.write(memoryPageBytes - 1, Buffer.alloc(2, 1), false);
    expect(device.allocatedPages).toBe(2);
    await device.trim(0, memoryPageBytes, false);
    expect(device.allocatedPages).toBe(1);
    await device.write(4 * memoryPageBytes, Buffer.alloc(2 * memoryPageBytes, 1), false);
    await device.writeZeroes(4 * memoryPageBytes, memoryPageBytes, { fua: false, noHole: true, fastZero: false });
    await device.writeZeroes(5 * memoryPageBytes, memoryPageBytes, { fua: false, noHole: false, fastZero: false });
    expect(device.allocatedPages).toBe(2);
    expect(await device.blockStatus(0, 6 * memoryPageBytes)).toEqual([
      { length: memoryPageBytes, hole: true, zero: true },
      { length: memoryPageBytes, hole: false, zero: false },
      { length: 2 * memoryPageBytes, hole: true, zero: true },
      { length: memoryPageBytes, hole: false, zero: false },
      { length: memoryPageBytes, hole: true, zero: true },
    ]);
  });

  it('readOnlyCopy is read-only and unaffected by later writes; contentDigest ignores zero pages', async () => {
    const device = new MemoryBlockDevice(4 * memoryPageBytes);
    await device.write(0, Buffer.alloc(10, 7), false);
    const copy = device.readOnlyCopy();
    const digest = copy.contentDigest();
    await device.write(0, Buffer.alloc(10, 8), false);
    expect(copy.readOnly).toBe(true);
    expect((await copy.read(0, 10)).every((byte) => byte === 7)).toBe(true);
    expect(copy.contentDigest()).toBe(digest);
    await device.writeZeroes(0, memoryPageBytes, { fua: false, noHole: true, fastZero: false });
    expect(device.contentDigest()).toBe(new MemoryBlockDevice(4 * memoryPageBytes).contentDigest());
  });
});
