// Persisted formats and limits. Method: round-trip every encoder through its decoder, then
// check decoders answer undefined (never throw, never guess) for truncated, foreign or
// future-version bytes, and that resolveLimits refuses overrides that break a relationship.
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../dedup/errors.js';
import { chunkIdOf } from './chunk-id.js';
import { resolveLimits } from './limits.js';
import {
  decodeChunkEntryV1, decodeRecordHeader, decodeSegmentHeaderV1, decodeTailMarkerV1, encodeChunkEntryV1,
  encodeRecordFraming, encodeSegmentHeaderV1, encodeTailMarkerV1, recordChecksumValid,
} from './segment-format.js';
import { versionOneRecord } from './segment-format.test-support.js';

describe('segment formats', () => {
  it('round-trip', () => {
    expect(decodeSegmentHeaderV1(encodeSegmentHeaderV1({ version: 1, segmentNumber: 42 }))).toEqual({ version: 1, segmentNumber: 42 });
    const entry = { version: 1 as const, segmentNumber: 7, offset: 2 ** 40 + 3, ciphertextBytes: 65_552, refCount: 2 ** 47 };
    expect(decodeChunkEntryV1(encodeChunkEntryV1(entry))).toEqual(entry);
    const tail = { version: 1 as const, segmentNumber: 9, offset: 123_456 };
    expect(decodeTailMarkerV1(encodeTailMarkerV1(tail))).toEqual(tail);
    const ciphertext = Buffer.from('ciphertext bytes');
    const id = chunkIdOf(ciphertext);
    const { header, trailer } = encodeRecordFraming(id, ciphertext);
    expect(decodeRecordHeader(header)).toEqual({ version: 2, ciphertextBytes: ciphertext.length, id });
    expect(recordChecksumValid(Buffer.concat([header, ciphertext, trailer]))).toBe(true);
    const old = versionOneRecord(ciphertext);
    expect(decodeRecordHeader(old)).toEqual({ version: 1, ciphertextBytes: ciphertext.length, id });
    expect(recordChecksumValid(old)).toBe(true);
  });

  it('a record checksum covers what its version says: v1 the ciphertext too, v2 the header alone', () => {
    const ciphertext = Buffer.from('some ciphertext bytes');
    const { header, trailer } = encodeRecordFraming(chunkIdOf(ciphertext), ciphertext);
    const current = Buffer.concat([header, ciphertext, trailer]);
    const old = versionOneRecord(ciphertext);
    for (const record of [current, old]) {
      const damagedHeader = Buffer.from(record);
      damagedHeader[9] ^= 1; // the length field
      expect(recordChecksumValid(damagedHeader)).toBe(false);
    }
    current[50] ^= 1; // inside the ciphertext: left to the id's sha256 (recovery and scrub check it)
    old[50] ^= 1;
    expect(recordChecksumValid(current)).toBe(true);
    expect(recordChecksumValid(old)).toBe(false);
  });

  it('decoders refuse damaged, short and future-version bytes', () => {
    const segmentHeader = encodeSegmentHeaderV1({ version: 1, segmentNumber: 1 });
    expect(decodeSegmentHeaderV1(segmentHeader.subarray(0, 10))).toBeUndefined();
    expect(decodeSegmentHeaderV1(Buffer.concat([Buffer.from('X'), segmentHeader.subarray(1)]))).toBeUndefined();
    const future = Buffer.from(segmentHeader);
    future.writeUInt16LE(2, 8);
    expect(decodeSegmentHeaderV1(future)).toBeUndefined();
    const entry = encodeChunkEntryV1({ version: 1, segmentNumber: 1, offset: 16, ciphertextBytes: 1, refCount: 0 });
    entry[0] = 2;
    expect(decodeChunkEntryV1(entry)).toBeUndefined();
    const ciphertext = Buffer.from('abc');
    const { header, trailer } = encodeRecordFraming(chunkIdOf(ciphertext), ciphertext);
    const record = Buffer.concat([header, ciphertext, trailer]);
    record[20] ^= 1; // inside the id
    expect(recordChecksumValid(record)).toBe(false);
    expect(decodeRecordHeader(header.subarray(0, 43))).toBeUndefined();
    const nextVersion = Buffer.from(header);
    nextVersion.writeUInt8(3, 4);
    expect(decodeRecordHeader(nextVersion)).toBeUndefined();
    expect(recordChecksumValid(Buffer.concat([nextVersion, ciphertext, trailer]))).toBe(false);
  });

  it('limits: zero never means unlimited, and relationships hold under overrides', () => {
    expect(() => resolveLimits({ groupCommitMax: 0 })).toThrow(AssertionError);
    expect(() => resolveLimits({ segmentBytesMax: 1024 })).toThrow(AssertionError);
    expect(() => resolveLimits({ chunkCiphertextBytesMax: 1024 })).toThrow(AssertionError);
    expect(resolveLimits().segmentBytesMax).toBe(256 * 1024 * 1024);
  });
});
