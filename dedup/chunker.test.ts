// Method: differential testing against a deliberately naive model of the FastCDC cut rule
// (one loop, whole buffer in memory), with seeded random data pushed in seeded random splits;
// plus properties (size bounds, locality of an edit) and one pinned golden list of cut points
// so an accidental change to the gear table or masks cannot pass silently.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CairnError } from './errors.js';
import { type ChunkerParams, ContentChunker, FixedBlocker, copyGearTable, objectChunkerParams } from './chunker.js';
import { SplitMix32 } from './splitmix32.js';
import { volumeBlockBytes } from './limits.js';

const smallParams: ChunkerParams = { minBytes: 256, averageBytes: 1024, maxBytes: 4096 };

/** The cut rule written as plainly as possible: the model the fast chunker must match. */
function modelCuts(data: Uint8Array, params: ChunkerParams): number[] {
  const gear = copyGearTable();
  const bits = Math.log2(params.averageBytes);
  const topMask = (n: number) => (0xffffffff << (32 - n)) | 0;
  const cuts: number[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + params.maxBytes, data.length);
    let fp = 0;
    for (let p = params.minBytes; p < params.maxBytes && start + p < data.length; p++) {
      fp = ((fp << 1) + gear[data[start + p]]) | 0;
      const mask = p < params.averageBytes ? topMask(bits + 2) : topMask(bits - 2);
      if ((fp & mask) === 0) {
        end = start + p + 1;
        break;
      }
    }
    cuts.push(end);
    start = end;
  }
  return cuts;
}

function chunkInSplits(data: Buffer, params: ChunkerParams, random: SplitMix32 | null, pieceMax: number): Buffer[] {
  const chunker = new ContentChunker(params);
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const piece = random ? 1 + random.nextBelow(pieceMax) : pieceMax;
    chunks.push(...chunker.push(data.subarray(at, at + piece)));
    at += piece;
  }
  chunks.push(...chunker.end());
  return chunks;
}

function cutsOf(chunks: Buffer[]): number[] {
  let at = 0;
  return chunks.map((chunk) => (at += chunk.length));
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('ContentChunker', () => {
  it('cuts exactly where the naive FastCDC model cuts, for one push and for random splits', () => {
    const random = new SplitMix32(1);
    const data = random.bytes(600_000);
    const expected = modelCuts(data, smallParams);
    expect(cutsOf(chunkInSplits(data, smallParams, null, data.length))).toEqual(expected);
    for (const pieceMax of [1, 7, 300, 5000, 70_000]) {
      const sample = pieceMax === 1 ? data.subarray(0, 40_000) : data;
      const chunks = chunkInSplits(sample, smallParams, random, pieceMax);
      expect(cutsOf(chunks)).toEqual(pieceMax === 1 ? modelCuts(sample, smallParams) : expected);
      expect(Buffer.concat(chunks).equals(sample)).toBe(true);
    }
  });

  it('gives the same chunks for 8 MiB at default sizes however the input is split', () => {
    const random = new SplitMix32(2);
    const data = random.bytes(8 << 20);
    const whole = chunkInSplits(data, objectChunkerParams, null, data.length);
    expect(cutsOf(whole)).toEqual(modelCuts(data, objectChunkerParams));
    for (const pieceMax of [65_536, 300_000, 1_000_000]) {
      const split = chunkInSplits(data, objectChunkerParams, random, pieceMax);
      expect(split.map(digest)).toEqual(whole.map(digest));
    }
  });

  it('keeps every chunk within [minBytes, maxBytes], only the final tail may be shorter', () => {
    const random = new SplitMix32(3);
    const data = random.bytes(8 << 20);
    const chunks = chunkInSplits(data, objectChunkerParams, random, 100_000);
    chunks.slice(0, -1).forEach((chunk) => {
      expect(chunk.length).toBeGreaterThan(objectChunkerParams.minBytes);
      expect(chunk.length).toBeLessThanOrEqual(objectChunkerParams.maxBytes);
    });
    expect(chunks[chunks.length - 1].length).toBeLessThanOrEqual(objectChunkerParams.maxBytes);
    const average = data.length / chunks.length;
    expect(average).toBeGreaterThan(48 * 1024);
    expect(average).toBeLessThan(96 * 1024);
  });

  it('changes at most 3 chunks when one byte is inserted in the middle of 8 MiB', () => {
    const random = new SplitMix32(4);
    const original = random.bytes(8 << 20);
    const middle = original.length >>> 1;
    const edited = Buffer.concat([original.subarray(0, middle), Buffer.from([0x5a]), original.subarray(middle)]);
    const before = new Set(chunkInSplits(original, objectChunkerParams, null, 1 << 20).map(digest));
    const after = chunkInSplits(edited, objectChunkerParams, null, 1 << 20).map(digest);
    const changed = after.filter((id) => !before.has(id));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('returns chunks that stay intact after later pushes reuse the internal buffer', () => {
    const random = new SplitMix32(5);
    const data = random.bytes(200_000);
    const chunker = new ContentChunker(smallParams);
    const kept: Buffer[] = [];
    for (let at = 0; at < data.length; at += 777) kept.push(...chunker.push(data.subarray(at, at + 777)));
    kept.push(...chunker.end());
    expect(Buffer.concat(kept).equals(data)).toBe(true);
  });

  // release(): slabs whose chunks all came back are refilled. A chunk still held must never be
  // overwritten; released ones may be; and reuse must actually happen (few slabs in all).
  it('release() reuses only slabs whose every chunk was released; held chunks stay intact', () => {
    const random = new SplitMix32(14);
    const data = random.bytes(24 << 20);
    const releasing = new ContentChunker(objectChunkerParams);
    const held: { chunk: Buffer; at: number }[] = [];
    const slabs = new Set<ArrayBufferLike>();
    const chunks: Buffer[] = [];
    let at = 0;
    for (let offset = 0; offset < data.length; offset += 65_536) {
      const pushed = data.subarray(offset, offset + 65_536);
      for (const chunk of [...releasing.push(pushed), ...(offset + 65_536 >= data.length ? releasing.end() : [])]) {
        expect(chunk.equals(data.subarray(at, at + chunk.length))).toBe(true);
        chunks.push(Buffer.from(chunk));
        if (chunk.buffer !== pushed.buffer) slabs.add(chunk.buffer);
        // Hold one chunk in 16, released out of order later; the rest go back at once.
        if (random.nextBelow(16) === 0) held.push({ chunk, at });
        else releasing.release(chunk);
        if (held.length > 4) releasing.release(held.splice(random.nextBelow(held.length), 1)[0].chunk);
        at += chunk.length;
      }
      for (const { chunk, at: heldAt } of held) expect(chunk.equals(data.subarray(heldAt, heldAt + chunk.length))).toBe(true);
    }
    expect(at).toBe(data.length);
    expect(cutsOf(chunks)).toEqual(cutsOf(chunkInSplits(data, objectChunkerParams, null, 65_536)));
    // 24 MiB through 1 MiB slabs: ~24 without reuse; with it, the held ones plus a few spares.
    expect(slabs.size).toBeLessThan(12);
  });

  it('accepts plain Uint8Array views at every byte alignment and cuts them like Buffers', () => {
    const data = new SplitMix32(9).bytes(300_000);
    const expected = modelCuts(data.subarray(3), smallParams);
    for (let offset = 0; offset < 4; offset++) {
      const backing = new Uint8Array(data.length + 4);
      backing.set(data.subarray(3), offset);
      const view = new Uint8Array(backing.buffer, offset, data.length - 3);
      const chunker = new ContentChunker(smallParams);
      const chunks: Buffer[] = [];
      for (let at = 0; at < view.length; at += 4099) chunks.push(...chunker.push(view.subarray(at, at + 4099)));
      chunks.push(...chunker.end());
      expect(cutsOf(chunks)).toEqual(expected);
    }
  });

  it('pins the cut points of seeded data so the gear table and masks never drift', () => {
    const data = new SplitMix32(6).bytes(2 << 20);
    const cuts = cutsOf(chunkInSplits(data, objectChunkerParams, null, data.length));
    expect(createHash('sha256').update(cuts.join(',')).digest('hex').slice(0, 16)).toBe('59c05672d90b502b');
  });

  it('emits nothing for no input and resets after end()', () => {
    const chunker = new ContentChunker(smallParams);
    expect(chunker.push(Buffer.alloc(0))).toEqual([]);
    expect(chunker.end()).toEqual([]);
    const data = new SplitMix32(7).bytes(100);
    expect(chunker.push(data)).toEqual([]);
    expect(chunker.end()[0].equals(data)).toBe(true);
    expect(chunker.end()).toEqual([]);
  });

  it.each([
    { minBytes: 16, averageBytes: 1024, maxBytes: 4096 },
    { minBytes: 256, averageBytes: 1000, maxBytes: 4096 },
    { minBytes: 2048, averageBytes: 1024, maxBytes: 4096 },
    { minBytes: 256, averageBytes: 1024, maxBytes: 1 << 21 },
    { minBytes: 256.5, averageBytes: 1024, maxBytes: 4096 },
  ])('rejects params %j with InvalidChunkerParams', (params) => {
    expect(() => new ContentChunker(params)).toThrow(CairnError);
    try {
      new ContentChunker(params);
    } catch (error) {
      expect((error as CairnError).code).toBe('InvalidChunkerParams');
    }
  });
});

describe('FixedBlocker', () => {
  it('cuts exact 64 KiB blocks at fixed offsets for any split, with a short tail', () => {
    const random = new SplitMix32(8);
    const data = random.bytes(10 * volumeBlockBytes + 1234);
    for (const pieceMax of [1000, 65_536, 200_000]) {
      const blocker = new FixedBlocker();
      const blocks: Buffer[] = [];
      for (let at = 0; at < data.length;) {
        const piece = 1 + random.nextBelow(pieceMax);
        blocks.push(...blocker.push(data.subarray(at, at + piece)));
        at += piece;
      }
      blocks.push(...blocker.end());
      expect(blocks.length).toBe(11);
      blocks.forEach((block, i) => {
        expect(block.equals(data.subarray(i * volumeBlockBytes, (i + 1) * volumeBlockBytes))).toBe(true);
      });
      expect(blocks[10].length).toBe(1234);
    }
  });
});
