// Method: round trips of seeded random manifests; a seeded fuzz of ≥ 2,000 decoder inputs
// (pure noise, and valid encodings with flipped bits, truncations, extensions and forged
// counts/sizes) whose only allowed outcomes are a canonical decode or ManifestCorrupt; and
// locateRange checked against a brute-force byte-by-byte model.
import { describe, expect, it } from 'vitest';
import { AssertionError, CairnError } from './errors.js';
import { type ChunkId } from './convergent.js';
import { type ManifestV1, ManifestEntries, decodeManifest, encodeManifest, locateRange, offsetsOf } from './manifest.js';
import { SplitMix32 } from './splitmix32.js';

function randomManifest(random: SplitMix32, count: number, lengthMax: number): ManifestV1 {
  const entries = Array.from({ length: count }, () => ({
    id: random.bytes(32).toString('hex') as ChunkId,
    key: random.bytes(32),
    length: 1 + random.nextBelow(lengthMax),
  }));
  return { version: 1, size: entries.reduce((sum, entry) => sum + entry.length, 0), entries: ManifestEntries.of(entries) };
}

function expectCorruptOrCanonical(input: Buffer): 'decoded' | 'corrupt' {
  try {
    const manifest = decodeManifest(input);
    expect(encodeManifest(manifest).equals(input)).toBe(true);
    return 'decoded';
  } catch (error) {
    if (!(error instanceof CairnError) || error.code !== 'ManifestCorrupt') throw error;
    return 'corrupt';
  }
}

function mutate(random: SplitMix32, valid: Buffer): Buffer {
  const kind = random.nextBelow(6);
  const bytes = Buffer.from(valid);
  if (kind === 0) {
    for (let flips = 1 + random.nextBelow(4); flips > 0; flips--) bytes[random.nextBelow(bytes.length)] ^= 1 << random.nextBelow(8);
    return bytes;
  }
  if (kind === 1) return bytes.subarray(0, random.nextBelow(bytes.length));
  if (kind === 2) return Buffer.concat([bytes, random.bytes(1 + random.nextBelow(100))]);
  if (kind === 3) {
    bytes.writeUInt32BE(random.nextUint32(), 8); // forged count
    return bytes;
  }
  if (kind === 4) {
    bytes.writeUInt32BE(random.nextBelow(4) === 0 ? 0xffffffff : random.nextBelow(2 ** 21 + 2), 12); // forged size
    return bytes;
  }
  const at = 20 + 68 * random.nextBelow(Math.max(1, (bytes.length - 20) / 68)) + 64;
  if (at + 4 <= bytes.length) bytes.writeUInt32BE(random.nextBelow(3) === 0 ? 0 : random.nextUint32(), at); // forged length
  return bytes;
}

describe('encodeManifest / decodeManifest', () => {
  it('round-trips seeded random manifests, including the empty one', () => {
    const random = new SplitMix32(31);
    for (const count of [0, 1, 2, 17, 500]) {
      const manifest = randomManifest(random, count, 300_000);
      const encoded = encodeManifest(manifest);
      expect(encoded.length).toBe(20 + 68 * count);
      const decoded = decodeManifest(encoded);
      expect(decoded.size).toBe(manifest.size);
      expect(decoded.entries.toArray()).toEqual(manifest.entries.toArray());
    }
  });

  it('answers 2,400 fuzzed inputs only with a canonical decode or ManifestCorrupt', () => {
    const random = new SplitMix32(32);
    const outcomes = { decoded: 0, corrupt: 0 };
    for (let i = 0; i < 2400; i++) {
      const valid = encodeManifest(randomManifest(random, random.nextBelow(12), 1 << 20));
      const input = i % 4 === 0 ? random.bytes(random.nextBelow(400)) : mutate(random, valid);
      if (i % 8 === 1) input.write('CRNM', 0, 'latin1'); // let noise past the magic check sometimes
      outcomes[expectCorruptOrCanonical(input)]++;
    }
    expect(outcomes.corrupt).toBeGreaterThan(1500);
    expect(outcomes.decoded).toBeGreaterThan(50); // flips inside ids and keys still decode
  });

  it('rejects a forged huge count without allocating for it', () => {
    const forged = Buffer.alloc(20);
    forged.write('CRNM', 0, 'latin1');
    forged.writeUInt16BE(1, 4);
    forged.writeUInt32BE(0xffffffff, 8);
    expect(() => decodeManifest(forged)).toThrow(/manifestEntriesMax/);
    forged.writeUInt32BE(1000, 8);
    expect(() => decodeManifest(forged)).toThrow(/does not match entry count/);
  });
});

describe('locateRange', () => {
  function bruteForce(manifest: ManifestV1, position: number): [number, number] {
    let start = 0;
    for (let i = 0; i < manifest.entries.length; i++) {
      if (position < start + manifest.entries.lengthAt(i)) return [i, position - start];
      start += manifest.entries.lengthAt(i);
    }
    throw new Error('position past the end');
  }

  it('agrees with a byte-by-byte model on seeded random manifests and ranges', () => {
    const random = new SplitMix32(33);
    for (let round = 0; round < 40; round++) {
      const manifest = randomManifest(random, 1 + random.nextBelow(30), 1 + random.nextBelow(50));
      const offsets = offsetsOf(manifest);
      for (let probe = 0; probe < 50; probe++) {
        const a = random.nextBelow(manifest.size);
        const b = random.nextBelow(manifest.size);
        const [start, end] = a <= b ? [a, b] : [b, a];
        const [firstIndex, firstOffset] = bruteForce(manifest, start);
        const [lastIndex, lastOffsetInclusive] = bruteForce(manifest, end);
        expect(locateRange(manifest, start, end, offsets)).toEqual({ firstIndex, lastIndex, firstOffset, lastOffsetInclusive });
      }
    }
  });

  it('locates the first and last byte of an object and of every chunk boundary', () => {
    const manifest = randomManifest(new SplitMix32(34), 5, 10);
    const offsets = offsetsOf(manifest);
    expect(offsets[5]).toBe(manifest.size);
    for (let i = 0; i < 5; i++) {
      expect(locateRange(manifest, offsets[i], offsets[i + 1] - 1)).toEqual({
        firstIndex: i, lastIndex: i, firstOffset: 0, lastOffsetInclusive: manifest.entries.lengthAt(i) - 1,
      });
    }
  });

  it.each([[-1, 0], [0, -1], [3, 2], [0, 1e9], [0.5, 1]])('rejects range %j as InvalidRange', (start, end) => {
    const manifest = randomManifest(new SplitMix32(35), 3, 10);
    expect(() => locateRange(manifest, start, end)).toThrow(expect.objectContaining({ code: 'InvalidRange' }));
  });

  it('rejects every range of an empty object', () => {
    const empty: ManifestV1 = { version: 1, size: 0, entries: new ManifestEntries() };
    expect(() => locateRange(empty, 0, 0)).toThrow(expect.objectContaining({ code: 'InvalidRange' }));
  });
});

describe('ManifestEntries (packed)', () => {
  const entryOf = (random: SplitMix32) => ({ id: random.bytes(32).toString('hex') as ChunkId, key: random.bytes(32), length: 1 + random.nextBelow(1 << 20) });

  it('keeps entries set out of order and across growth, and reads each back', () => {
    const random = new SplitMix32(71);
    const expected = Array.from({ length: 1000 }, () => entryOf(random));
    const packed = new ManifestEntries(1);
    for (let index = expected.length - 1; index >= 0; index -= 2) packed.set(index, expected[index]);
    for (let index = 0; index < expected.length; index += 2) packed.set(index, expected[index]);
    expect(packed.length).toBe(expected.length);
    expect(packed.toArray()).toEqual(expected);
    expect(packed.idAt(500)).toBe(expected[500].id);
    expect(packed.keyAt(3).equals(expected[3].key)).toBe(true);
    expect(packed.lengthAt(999)).toBe(expected[999].length);
    expect(() => packed.at(1000)).toThrow(AssertionError);
  });

  it('concat keeps order; encoding refuses a slot never set', () => {
    const random = new SplitMix32(72);
    const a = Array.from({ length: 3 }, () => entryOf(random));
    const b = Array.from({ length: 5 }, () => entryOf(random));
    expect(ManifestEntries.concat([ManifestEntries.of(a), new ManifestEntries(), ManifestEntries.of(b)]).toArray()).toEqual([...a, ...b]);
    const gap = new ManifestEntries();
    gap.set(1, a[0]);
    expect(() => encodeManifest({ version: 1, size: a[0].length, entries: gap })).toThrow(AssertionError);
  });

  it('decodes into a copy: the decoded bytes can be reused', () => {
    const manifest = randomManifest(new SplitMix32(73), 20, 5000);
    const encoded = encodeManifest(manifest);
    const decoded = decodeManifest(encoded);
    encoded.fill(0);
    expect(decoded.entries.toArray()).toEqual(manifest.entries.toArray());
  });
});
