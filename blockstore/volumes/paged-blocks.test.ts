// Method: the paged block seal as the volume uses it, on a MemoryChunkStore whose reads are
// recorded (and, for the corruption cases, damaged on the way out): a small read of a stored
// block preads only its pages and never the whole chunk; a damaged page fails the read (an
// error, never wrong bytes) while the block's other pages still read; identical blocks in two
// volumes are one chunk; and blocks of older builds (whole-chunk seal: 72-byte map entries,
// kind-3 ref records; 4 KiB pages: entry byte 1, kind-4 ref records) still decode and read; a
// whole-block write's refs share one journal record (kind 5: 16 KiB pages, what this build writes).
import { describe, expect, it } from 'vitest';
import { SplitMix32, dedupLimits, sealChunk, sealPagedBlock } from '../../dedup/index.js';
import { MemoryChunkStore } from '../chunks/index.js';
import { MemoryMetaStore } from '../meta/index.js';
import type { ChunkId } from './deps.js';
import { decodeJournalRecord, encodeJournalRecord } from './journal-format.js';
import { MemoryJournalStore } from './journal.js';
import { volumeBlockBytes, volumePageBytes } from './limits.js';
import { BlockEntryCodec } from './records.js';
import type { Volume } from './volume.js';
import { VolumeService } from './volume-service.js';

const block = volumeBlockBytes;
const page = volumePageBytes;
/** The sealed page of what this build writes (pages16k), and one sealed page with its tag. */
const sealedPage = dedupLimits.sealedPageBytesOf.pages16k;
const sealedPageCiphertext = sealedPage + 16;
const filled = (length: number, seed: number) => new SplitMix32(seed).fill(Buffer.alloc(length)) as Buffer;

/** Records every read; `damage` flips one byte of what readCiphertext returns at that chunk offset. */
class RecordingChunkStore extends MemoryChunkStore {
  readonly reads: Array<{ kind: 'get' | 'range'; id: ChunkId; offset?: number; length?: number }> = [];
  damage: { id: ChunkId; at: number } | undefined;

  override async get(id: ChunkId): Promise<Buffer> {
    this.reads.push({ kind: 'get', id });
    return super.get(id);
  }

  override async readCiphertext(id: ChunkId, offset: number, length: number): Promise<Buffer> {
    this.reads.push({ kind: 'range', id, offset, length });
    const bytes = await super.readCiphertext(id, offset, length);
    const damage = this.damage;
    if (damage && damage.id === id && damage.at >= offset && damage.at < offset + length) bytes[damage.at - offset] ^= 0x20;
    return bytes;
  }
}

async function setup() {
  const meta = new MemoryMetaStore();
  const chunks = new RecordingChunkStore({ meta });
  let ids = 0;
  const service = await VolumeService.open({
    meta, chunks, journals: new MemoryJournalStore(), masterKey: Buffer.alloc(32, 7), saltFor: () => Buffer.alloc(32, 1),
    clock: () => 1, newId: () => (ids++).toString(16).padStart(8, '0'), location: 'test',
  });
  const volume = async (name: string) => {
    await service.create(name, 8 * block);
    // The handle's shared Volume (private to the handle): the tests look at its map and overlay.
    return ((await service.exports.open(name)) as unknown as { volume: Volume }).volume;
  };
  return { chunks, service, volume };
}

describe('paged blocks in a volume', () => {
  it('a 1 MiB write journals its 16 block refs as one record, and replay restores every block', async () => {
    const meta = new MemoryMetaStore();
    const chunks = new MemoryChunkStore({ meta });
    const journals = new MemoryJournalStore();
    let ids = 0;
    const open = () => VolumeService.open({
      meta, chunks, journals, masterKey: Buffer.alloc(32, 7), saltFor: () => Buffer.alloc(32, 1),
      clock: () => 1, newId: () => (ids++).toString(16).padStart(8, '0'), location: 'test',
    });
    const service = await open();
    await service.create('v', 32 * block);
    const device = (await service.exports.open('v'))!;
    const data = filled(16 * block, 6);
    data.fill(0, 5 * block, 6 * block); // a zero block splits the run: refs, zero, refs
    await device.write(8 * block, data, true);
    const files = [...journals.files.values()];
    expect(files.length).toBe(1);
    const bytes = files[0].data.subarray(0, files[0].bytes);
    const kinds: number[] = [];
    for (let at = 0; at < bytes.length;) {
      kinds.push(bytes.readUInt8(at + 4));
      at += 32 + bytes.readUInt32BE(at + 28) + 16;
    }
    expect(kinds).toEqual([5, 2, 5]);
    // A crash (no clean close): the reopened service replays the records.
    const again = await open();
    expect((await (await again.exports.open('v'))!.read(8 * block, 16 * block)).equals(data)).toBe(true);
    await again.close();
  });

  it('a 4 KiB read of a stored block preads the one 16 KiB page holding it (16,400 bytes), not the chunk', async () => {
    const { chunks, service, volume } = await setup();
    const device = await volume('v');
    const data = filled(2 * block, 1);
    await device.write(block, data, true);
    const id = device.map.visible(1)?.id ?? (device.active.get(1) as { id: ChunkId }).id;
    chunks.reads.length = 0;
    expect((await device.read(block + 5 * page, page)).equals(data.subarray(5 * page, 6 * page))).toBe(true);
    expect(chunks.reads).toEqual([{ kind: 'range', id, offset: sealedPageCiphertext, length: sealedPageCiphertext }]);
    // An unaligned 6 KiB read across a sealed page boundary: one pread of both pages.
    chunks.reads.length = 0;
    expect((await device.read(block + 3 * page + 100, 6 * 1024)).equals(data.subarray(3 * page + 100, 3 * page + 100 + 6 * 1024))).toBe(true);
    expect(chunks.reads).toEqual([{ kind: 'range', id, offset: 0, length: 2 * sealedPageCiphertext }]);
    // A whole-block read opens every page (no sha256 get) and reads back exactly.
    expect((await device.read(block, 2 * block)).equals(data)).toBe(true);
    expect(chunks.reads.every((read) => read.kind === 'range')).toBe(true);
    await service.close();
  });

  it('a flipped byte in a stored page fails reads of that page (never wrong bytes); other pages still read', async () => {
    const { chunks, service, volume } = await setup();
    const device = await volume('v');
    const data = filled(block, 2);
    await device.write(0, data, true);
    await device.foldNow();
    const mapped = device.map.visible(0);
    expect(mapped?.seal).toBe('pages16k');
    chunks.damage = { id: mapped!.id, at: sealedPageCiphertext + 1234 }; // sealed page 1: bytes [16 KiB, 32 KiB)
    await expect(device.read(5 * page, page)).rejects.toMatchObject({ code: 'ChunkCorrupt' });
    await expect(device.read(2 * sealedPage - 100, 200)).rejects.toMatchObject({ code: 'ChunkCorrupt' });
    await expect(device.read(0, block)).rejects.toMatchObject({ code: 'ChunkCorrupt' });
    expect((await device.read(2 * page, page)).equals(data.subarray(2 * page, 3 * page))).toBe(true);
    expect((await device.read(2 * sealedPage, 2 * page)).equals(data.subarray(2 * sealedPage, 2 * sealedPage + 2 * page))).toBe(true);
    chunks.damage = undefined;
    expect((await device.read(0, block)).equals(data)).toBe(true);
    await service.close();
  });

  it('a fold merges pages into a block of its own: a cached block another index shares reads unchanged, and the fold caches nothing', async () => {
    const { service, volume } = await setup();
    const device = await volume('v');
    const cache = (device as unknown as { readCache: Map<string, Buffer> }).readCache;
    const shared = filled(block, 8);
    await device.write(block, shared, false); // blocks 1 and 2: one chunk
    await device.write(2 * block, shared, false);
    await device.write(3 * block, filled(block, 9), true);
    await device.foldNow();
    expect(device.map.visible(1)?.id).toBe(device.map.visible(2)?.id);
    expect((await device.read(2 * block, block)).equals(shared)).toBe(true); // a whole-block read: cached
    expect(cache.size).toBe(1);
    const patch = filled(page, 10);
    await device.write(block + 7 * page, patch, false); // journaled pages of blocks 1 (cached base) and 3 (not)
    await device.write(3 * block, patch, false);
    await device.foldNow();
    expect(cache.size).toBe(1); // block 3's old content was not cached by the fold
    expect((await device.read(2 * block, block)).equals(shared)).toBe(true);
    const merged = Buffer.from(shared);
    patch.copy(merged, 7 * page);
    expect((await device.read(block, block)).equals(merged)).toBe(true);
    await service.close();
  });

  it('an identical block written to two volumes is one chunk (the paged seal is convergent)', async () => {
    const { chunks, service, volume } = await setup();
    const data = filled(block, 3);
    const first = await volume('a');
    const second = await volume('b');
    await first.write(2 * block, data, true);
    await second.write(5 * block, data, true);
    await first.foldNow();
    await second.foldNow();
    expect(first.map.visible(2)?.id).toBe(second.map.visible(5)?.id);
    expect((await chunks.stats()).chunks).toBe(1);
    await service.close();
  });

  it('reads blocks of older builds: whole-chunk-sealed (72-byte map entries, kind-3 refs) and 4 KiB-paged (entry byte 1, kind-4 refs)', async () => {
    const { chunks, service, volume } = await setup();
    const device = await volume('v');
    const codec = new BlockEntryCodec(Buffer.alloc(32, 7));
    const data = filled(block, 4);
    const whole = sealChunk(data, Buffer.alloc(32, 1));
    const paged4k = sealPagedBlock(data, Buffer.alloc(32, 1), 'pages4k');
    for (const [sealed, seal, entryBytes, kind] of [[whole, 'chunk', 72, 3], [paged4k, 'pages4k', 73, 4]] as const) {
      await chunks.put(sealed.id, sealed.ciphertext);
      const entry = codec.encode({ id: sealed.id, key: sealed.key, seal });
      expect(entry.length).toBe(entryBytes);
      const decoded = codec.decode(entry);
      expect(decoded).toEqual({ id: sealed.id, key: sealed.key, seal });
      device.map.own.set(3, decoded);
      chunks.reads.length = 0;
      expect((await device.read(3 * block + 2 * page, page)).equals(data.subarray(2 * page, 3 * page))).toBe(true);
      // A 4 KiB-paged block reads its one 4 KiB page (4,112 bytes); a whole-chunk one reads whole.
      expect(chunks.reads).toEqual(seal === 'pages4k' ? [{ kind: 'range', id: sealed.id, offset: 2 * (page + 16), length: page + 16 }] : [{ kind: 'get', id: sealed.id }]);
      expect((await device.read(3 * block, block)).equals(data)).toBe(true);
      device.map.own.delete(3);
      const key = Buffer.alloc(32, 9);
      const refs = seal === 'chunk' ? [{ id: sealed.id, key: sealed.key }] : [{ id: sealed.id, key: sealed.key }, { id: whole.id, key: Buffer.alloc(32, 3) }];
      const record = { kind: 'ref', index: 3, refs, seal } as const;
      const bytes = Buffer.concat(encodeJournalRecord(key, 1, record));
      expect(bytes.readUInt8(4)).toBe(kind);
      expect(bytes.readUInt32BE(24)).toBe(refs.length * block);
      expect(decodeJournalRecord(key, bytes, 1)).toEqual(record);
    }
    expect(codec.decode(codec.encode({ id: whole.id, key: whole.key, seal: 'pages16k' }))?.seal).toBe('pages16k');
    expect(() => codec.decode(Buffer.concat([codec.encode({ id: whole.id, key: whole.key, seal: 'chunk' }), Buffer.from([9])]))).toThrow(/block entry/);
    await service.close();
  });
});
