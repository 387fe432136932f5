// Method: the journal-indexed overlay (volume.ts) against byte-array expectations, with in-memory
// stores. Partial-block writes must stay in the journal (no chunk is put until a fold) and read
// back exactly, across pages and blocks, in write order, under zeroes/trims, snapshots and
// replay of a journal far larger than one replay window. The crash check models power loss with
// MemoryJournalStore.crash (synced bytes plus a random, possibly torn, part of the rest) and a
// chunk store whose puts become durable only some turns later (a crash drops the others), while
// writes are in flight, and checks the rule of issue 4 page by page: a page holds a write that
// no durable write superseded (durable = acknowledged before a FLUSH that completed, or FUA),
// or its old content if no durable write touched it — never anything else.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SplitMix32 } from '../../dedup/index.js';
import { MemoryChunkStore, type ChunkId, type ChunkStore } from '../chunks/index.js';
import { MemoryMetaStore } from '../meta/index.js';
import type { BlockDevice } from './deps.js';
import { FileJournalStore, MemoryJournalStore, type JournalReadable, type JournalStore } from './journal.js';
import { journalReplayWindowBytes } from './limits.js';
import { VolumeService } from './volume-service.js';

const block = 64 * 1024;
const page = 4096;

/** A chunk store whose puts become durable (reach the inner store) a few event-loop turns late;
 * reads see them at once; `crash()` drops (and fails) the ones still pending, as power loss drops
 * unsynced segment bytes. */
class SlowPutChunkStore {
  private readonly pending = new Map<ChunkId, { bytes: Uint8Array; count: number }>();
  private epoch = 0;
  private readonly random = new SplitMix32(4711);
  /** Off (puts go straight through) until a test turns it on. */
  slow = false;
  constructor(readonly inner: ChunkStore) {}

  async put(id: ChunkId, ciphertext: Uint8Array): Promise<void> {
    if (!this.slow) return this.inner.put(id, ciphertext);
    const epoch = this.epoch;
    const entry = this.pending.get(id) ?? { bytes: ciphertext, count: 0 };
    entry.count += 1;
    this.pending.set(id, entry);
    for (let turn = this.random.nextBelow(6); turn > 0; turn--) await new Promise((resolve) => setImmediate(resolve));
    if (epoch !== this.epoch) throw new Error('crashed before the put was durable');
    await this.inner.put(id, ciphertext);
    if (--entry.count === 0 && this.pending.get(id) === entry) this.pending.delete(id);
  }

  crash(): void {
    this.epoch += 1;
    this.pending.clear();
  }

  async get(id: ChunkId): Promise<Buffer> {
    const entry = this.pending.get(id);
    return entry ? Buffer.from(entry.bytes) : this.inner.get(id);
  }

  async has(id: ChunkId): Promise<boolean> { return this.inner.has(id); }
}

function withSlowPuts(inner: ChunkStore): { store: ChunkStore; slow: SlowPutChunkStore } {
  const slow = new SlowPutChunkStore(inner);
  const store = new Proxy(inner, {
    get: (target, key) => (key === 'put' || key === 'get' || key === 'has' ? slow[key].bind(slow) : Reflect.get(target, key, target)),
  });
  return { store, slow };
}

function setup<J extends JournalStore = MemoryJournalStore>(journals: J = new MemoryJournalStore() as unknown as J) {
  const meta = new MemoryMetaStore();
  const { store: chunks, slow } = withSlowPuts(new MemoryChunkStore({ meta }));
  let ids = 0;
  let time = 1_000;
  const open = () => VolumeService.open({
    meta, chunks, journals, masterKey: Buffer.alloc(32, 7), saltFor: (index) => Buffer.alloc(32, index + 1),
    clock: () => time++, newId: () => (ids++).toString(16).padStart(8, '0'), location: 'test',
  });
  return { meta, chunks, slow, journals, open };
}

async function exportOf(service: VolumeService, name: string): Promise<BlockDevice> {
  const device = await service.exports.open(name);
  if (!device) throw new Error(`no export ${name}`);
  return device;
}

const filled = (length: number, seed: number) => new SplitMix32(seed).fill(Buffer.alloc(length)) as Buffer;

describe('journal-indexed partial writes', () => {
  it('unaligned writes across pages and blocks read back in write order, before any fold puts a chunk', async () => {
    const world = setup();
    const service = await world.open();
    await service.create('v', 8 * block);
    const device = await exportOf(service, 'v');
    const model = Buffer.alloc(8 * block);
    const writes: Array<[number, number]> = [
      [100, 50], [page - 10, 20], [block - 3 * page - 1, 2 * page + 7], [block - 100, 300], [3 * block + 5, page],
      [page, page], [0, 3 * page], [2 * page + 1, 1], [block - 1, 2],
    ];
    for (const [index, [offset, length]] of writes.entries()) {
      const data = filled(length, index + 1);
      await device.write(offset, data, false);
      data.copy(model, offset);
      expect((await device.read(0, 8 * block)).equals(model), `after write ${index}`).toBe(true);
    }
    // Concurrent overlapping writes: each applies whole, in some order.
    const a = filled(2 * page, 50);
    const b = filled(2 * page, 51);
    await Promise.all([device.write(5 * block + 100, a, false), device.write(5 * block + 100 + page, b, false)]);
    const got = await device.read(5 * block + 100, 3 * page);
    const aThenB = Buffer.concat([a.subarray(0, page), b]);
    const bThenA = Buffer.concat([a, b.subarray(page)]);
    expect(got.equals(aThenB) || got.equals(bThenA)).toBe(true);
    got.copy(model, 5 * block + 100);
    expect((await world.chunks.stats()).chunks, 'partial writes are in the journal only').toBe(0);
    await service.close(); // folds
    expect((await world.chunks.stats()).chunks).toBeGreaterThan(0);
    const again = await world.open();
    expect((await (await exportOf(again, 'v')).read(0, 8 * block)).equals(model)).toBe(true);
    await again.close();
  });

  it('file journals: pages are read back from the file, queued or written, and after a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-journal-index-'));
    try {
      const world = setup(new FileJournalStore(dir));
      const service = await world.open();
      await service.create('v', 4 * block);
      const device = await exportOf(service, 'v');
      const model = Buffer.alloc(4 * block);
      for (let step = 0; step < 64; step++) {
        const data = filled(page + 300, step + 1);
        const offset = (step * 7 * page + step) % (3 * block);
        await device.write(offset, data, step % 9 === 0);
        data.copy(model, offset);
        if (step % 16 === 15) await device.flush(); // some records written to the file, some queued
        expect((await device.read(0, 4 * block)).equals(model), `step ${step}`).toBe(true);
      }
      await device.flush();
      await service.close();
      const again = await world.open();
      expect((await (await exportOf(again, 'v')).read(0, 4 * block)).equals(model)).toBe(true);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('zeroes and trims over journal-resident pages, and a snapshot taken while pages are journaled', async () => {
    const world = setup();
    const service = await world.open();
    await service.create('v', 8 * block);
    const device = await exportOf(service, 'v');
    const model = filled(8 * block, 9);
    await device.write(0, model, true); // whole blocks: chunks
    const patch = filled(3 * page + 123, 10);
    await device.write(block + 77, patch, false); // pages over a chunk base
    patch.copy(model, block + 77);
    await service.snapshot('v', 'mid');
    const atSnapshot = Buffer.from(model);
    await device.write(2 * block + 5, filled(100, 11), false);
    filled(100, 11).copy(model, 2 * block + 5);
    await device.writeZeroes(block + 50, 2 * page, { fua: false, noHole: false, fastZero: false });
    model.fill(0, block + 50, block + 50 + 2 * page);
    await device.writeZeroes(2 * block, 4 * block, { fua: false, noHole: false, fastZero: false }); // over the journaled 100 bytes
    model.fill(0, 2 * block, 6 * block);
    await device.write(3 * block + page, filled(page, 12), false); // into a zeroed block
    filled(page, 12).copy(model, 3 * block + page);
    await device.trim(6 * block - 10, block + 20, false); // drops block 6 whole only
    model.fill(0, 6 * block, 7 * block);
    expect((await device.read(0, 8 * block)).equals(model)).toBe(true);
    const status = await device.blockStatus(0, 8 * block);
    expect(status.find((extent) => extent.hole)).toBeDefined();
    expect((await (await exportOf(service, 'v@mid')).read(0, 8 * block)).equals(atSnapshot)).toBe(true);
    await service.close();
    const again = await world.open();
    expect((await (await exportOf(again, 'v')).read(0, 8 * block)).equals(model)).toBe(true);
    expect((await (await exportOf(again, 'v@mid')).read(0, 8 * block)).equals(atSnapshot)).toBe(true);
    await again.close();
  });

  it('replays a journal many windows long by streaming it', async () => {
    const world = setup();
    const service = await world.open();
    const size = 64 * block;
    await service.create('v', size);
    const device = await exportOf(service, 'v');
    const model = Buffer.alloc(size);
    const random = new SplitMix32(77);
    const journalTarget = 3 * journalReplayWindowBytes;
    for (let written = 0, step = 0; written < journalTarget; step++) {
      const offset = random.nextBelow(size / page - 2) * page + (step % 5 === 0 ? random.nextBelow(page) : 0);
      const data = filled(page * (1 + random.nextBelow(2)), step + 100);
      await device.write(offset, data, false);
      data.copy(model, offset);
      written += data.length;
    }
    await device.flush();
    world.journals.crash(() => 0);
    let largestRead = 0;
    const open = world.journals.open.bind(world.journals);
    world.journals.open = async (volume, number): Promise<JournalReadable> => {
      const file = await open(volume, number);
      return { read: (position, length) => { largestRead = Math.max(largestRead, length); return file.read(position, length); }, close: () => file.close() };
    };
    const again = await world.open();
    expect(largestRead).toBeGreaterThan(0);
    expect(largestRead).toBeLessThanOrEqual(journalReplayWindowBytes);
    expect((await (await exportOf(again, 'v')).read(0, size)).equals(model)).toBe(true);
    await again.close();
  });
});

describe('crash consistency of the ack/flush rule (power loss model)', () => {
  const pages = 1024; // a 4 MiB volume: 64 blocks
  const content = (round: number, write: number, at: number) => {
    const unit = Buffer.alloc(16);
    unit.writeUInt32LE(round, 0);
    unit.writeUInt32LE(write, 4);
    unit.writeUInt32LE(at, 8);
    unit.writeUInt32LE(0xc0ffee, 12);
    return Buffer.concat(Array.from({ length: page / 16 }, () => unit));
  };

  it.each([1, 2, 3])('seed %i: after each crash every page holds an allowed write, and every durable write survives', async (seed) => {
    const random = new SplitMix32(seed);
    const world = setup();
    world.slow.slow = true;
    let service = await world.open();
    await service.create('c', pages * page);
    let base: Buffer = Buffer.alloc(pages * page);
    for (let round = 1; round <= 12; round++) {
      const device = await exportOf(service, 'c');
      interface Write { id: number; first: number; count: number; zero: boolean; issuedAfter: Set<number>; acked: boolean; durable: boolean }
      const writes: Write[] = [];
      let crashed = false;
      const inflight: Promise<unknown>[] = [];
      const ackedNow = () => new Set(writes.filter((write) => write.acked).map((write) => write.id));
      const operations = 20 + random.nextBelow(60);
      const crashAfter = random.nextBelow(operations + 1);
      for (let op = 0; op < operations && !crashed; op++) {
        if (op === crashAfter) break;
        const choice = random.nextBelow(10);
        if (choice < 7) {
          // A third are whole blocks (chunks by reference, acked before their puts are durable),
          // the rest 1–6 pages anywhere (journaled pages).
          const whole = random.nextBelow(3) === 0;
          const count = whole ? 16 * (1 + random.nextBelow(2)) : 1 + random.nextBelow(6);
          const first = whole ? 16 * random.nextBelow(pages / 16 - 2) : random.nextBelow(pages - count);
          const zero = random.nextBelow(8) === 0;
          const fua = random.nextBelow(6) === 0;
          const write: Write = { id: writes.length + 1, first, count, zero, issuedAfter: ackedNow(), acked: false, durable: false };
          writes.push(write);
          const done = zero
            ? device.writeZeroes(first * page, count * page, { fua, noHole: false, fastZero: false })
            : device.write(first * page, Buffer.concat(Array.from({ length: count }, (_, at) => content(round, write.id, first + at))), fua);
          inflight.push(done.then(() => {
            if (crashed) return;
            write.acked = true;
            if (fua) write.durable = true;
          }, () => undefined));
        } else {
          const covered = ackedNow();
          inflight.push(device.flush().then(() => {
            if (crashed) return;
            for (const write of writes) if (covered.has(write.id)) write.durable = true;
          }, () => undefined));
        }
        // Let some operations finish before the next is issued (a queue depth that varies).
        for (let turn = random.nextBelow(4); turn > 0; turn--) await new Promise((resolve) => setImmediate(resolve));
      }
      for (let turn = random.nextBelow(6); turn > 0; turn--) await new Promise((resolve) => setImmediate(resolve));
      crashed = true;
      world.journals.crash((unsynced) => random.nextBelow(unsynced + 1));
      world.slow.crash();
      await Promise.allSettled(inflight);
      service = await world.open();
      const image = await (await exportOf(service, 'c')).read(0, pages * page);
      for (let at = 0; at < pages; at++) {
        const touching = writes.filter((write) => at >= write.first && at < write.first + write.count);
        const durable = touching.filter((write) => write.durable);
        // A write is superseded when a durable write to the page was issued after it was acked.
        const live = touching.filter((write) => !durable.some((later) => later.issuedAfter.has(write.id)));
        const allowed: Buffer[] = live.map((write) => (write.zero ? Buffer.alloc(page) : content(round, write.id, at)));
        if (durable.length === 0) allowed.push(base.subarray(at * page, (at + 1) * page));
        const actual = image.subarray(at * page, (at + 1) * page);
        expect(allowed.some((candidate) => candidate.equals(actual)), `round ${round} page ${at}: writes ${touching.map((write) => write.id).join(',')}`).toBe(true);
      }
      base = image;
    }
    await service.close();
  });
});
