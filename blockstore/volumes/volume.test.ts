// Method: a seeded random sequence of writes (aligned and not), writeZeroes, trims, flushes,
// folds, snapshots, clones, snapshot deletes and clean reopen, applied both to Cairn volumes
// (in-memory MetaStore, MemoryChunkStore, MemoryJournalStore) and to a plain byte-array model;
// every read and every snapshot/clone is compared with the model. Trim drops whole blocks only,
// which the model mirrors (proto.md leaves trimmed content unspecified).
import { describe, expect, it } from 'vitest';
import { SplitMix32 } from '../../dedup/index.js';
import { MemoryChunkStore } from '../chunks/index.js';
import { MemoryMetaStore } from '../meta/index.js';
import { MemoryJournalStore } from './journal.js';
import { VolumeService } from './volume-service.js';

const block = 64 * 1024;
const sizeBytes = 32 * block;

function setup() {
  const meta = new MemoryMetaStore();
  const chunks = new MemoryChunkStore({ meta });
  const journals = new MemoryJournalStore();
  let ids = 0;
  let time = 1_000;
  const open = () => VolumeService.open({
    meta, chunks, journals, masterKey: Buffer.alloc(32, 7), saltFor: (index) => Buffer.alloc(32, index + 1),
    clock: () => time++, newId: () => (ids++).toString(16).padStart(8, '0'), location: 'test',
  });
  return { meta, chunks, journals, open };
}

async function exportOf(service: VolumeService, name: string) {
  const device = await service.exports.open(name);
  if (!device) throw new Error(`no export ${name}`);
  return device;
}

describe('Volume against a byte-array model', () => {
  it.each([4242, 7, 99, 2024])('seed %i: a random op sequence reads back like the model, across snapshots, snapshot deletes and reopen', async (seed) => {
    const random = new SplitMix32(seed);
    const world = setup();
    let service = await world.open();
    await service.create('vol', sizeBytes);
    const model = Buffer.alloc(sizeBytes);
    const snapshots = new Map<string, Buffer>();
    let device = await exportOf(service, 'vol');
    const span = () => {
      const offset = random.nextBelow(sizeBytes - 1);
      const length = 1 + random.nextBelow(Math.min(3 * block, sizeBytes - offset));
      return { offset, length };
    };
    for (let step = 0; step < 600; step++) {
      const choice = random.nextBelow(100);
      if (choice < 45) {
        const { offset, length } = span();
        const data = random.fill(Buffer.alloc(length)) as Buffer;
        if (random.nextBelow(4) === 0) data.fill(0);
        await device.write(offset, data, random.nextBelow(8) === 0);
        data.copy(model, offset);
      } else if (choice < 53) {
        const { offset, length } = span();
        await device.writeZeroes(offset, length, { fua: false, noHole: false, fastZero: false });
        model.fill(0, offset, offset + length);
      } else if (choice < 58) {
        const { offset, length } = span();
        await device.trim(offset, length, false);
        const first = Math.ceil(offset / block) * block;
        const last = Math.floor((offset + length) / block) * block;
        if (last > first) model.fill(0, first, last);
      } else if (choice < 85) {
        const { offset, length } = span();
        expect((await device.read(offset, length)).equals(model.subarray(offset, offset + length)), `read at step ${step}`).toBe(true);
      } else if (choice < 89) {
        const name = `s${step}`;
        await service.snapshot('vol', name);
        snapshots.set(name, Buffer.from(model));
      } else if (choice < 92 && snapshots.size > 0) {
        const names = [...snapshots.keys()];
        const name = names[random.nextBelow(names.length)];
        await service.deleteSnapshot('vol', name);
        snapshots.delete(name);
      } else if (choice < 95) {
        await device.flush();
      } else {
        await service.close();
        service = await world.open();
        device = await exportOf(service, 'vol');
      }
    }
    expect((await device.read(0, sizeBytes)).equals(model)).toBe(true);
    for (const [name, content] of snapshots) {
      const snap = await exportOf(service, `vol@${name}`);
      expect(snap.readOnly).toBe(true);
      expect((await snap.read(0, sizeBytes)).equals(content), `snapshot ${name}`).toBe(true);
    }
    await service.close();
  });

  it('clones share blocks, diverge independently, and deleting everything frees every chunk', async () => {
    const random = new SplitMix32(7);
    const world = setup();
    const service = await world.open();
    await service.create('base', sizeBytes);
    const base = await exportOf(service, 'base');
    const image = random.fill(Buffer.alloc(sizeBytes)) as Buffer;
    await base.write(0, image, true);
    await service.snapshot('base', 'gold');
    const before = (await world.chunks.stats()).liveBytes;
    for (let index = 0; index < 10; index++) await service.clone('base', 'gold', `c${index}`);
    expect((await world.chunks.stats()).liveBytes).toBe(before);
    const clone = await exportOf(service, 'c3');
    const patch = Buffer.alloc(5000, 0xab);
    await clone.write(12345, patch, false);
    await base.write(0, Buffer.alloc(block, 1), false);
    const expected = Buffer.from(image);
    patch.copy(expected, 12345);
    expect((await clone.read(0, sizeBytes)).equals(expected)).toBe(true);
    expect((await (await exportOf(service, 'c4')).read(0, sizeBytes)).equals(image)).toBe(true);
    expect((await (await exportOf(service, 'base@gold')).read(0, sizeBytes)).equals(image)).toBe(true);
    const blocks = await (await exportOf(service, 'c4')).blockStatus(0, sizeBytes);
    expect(blocks.every((extent) => !extent.hole)).toBe(true);
    for (let index = 0; index < 10; index++) await service.delete(`c${index}`);
    await service.delete('base');
    await service.close();
    await world.chunks.gc();
    expect((await world.chunks.stats()).liveBytes).toBe(0);
    const left: string[] = [];
    for await (const [key] of world.meta.iterate({ gte: 'v/', lt: 'v0' })) left.push(key);
    expect(left).toEqual([]);
  });

  it('unwritten and zeroed ranges are holes that take no space', async () => {
    const world = setup();
    const service = await world.open();
    await service.create('holes', sizeBytes);
    const device = await exportOf(service, 'holes');
    await device.write(block, Buffer.alloc(2 * block, 0), false);
    await device.write(4 * block, Buffer.alloc(block, 9), false);
    await device.writeZeroes(4 * block, block, { fua: true, noHole: false, fastZero: true });
    await service.close();
    expect((await world.chunks.stats()).liveBytes).toBe(0);
    const again = await world.open();
    const status = await (await exportOf(again, 'holes')).blockStatus(0, sizeBytes);
    expect(status).toEqual([{ length: sizeBytes, hole: true, zero: true }]);
    await again.close();
  });
});
