import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type ObjectRecordV1 } from './records.js';

const record = (sealedManifest: Buffer): ObjectRecordV1 => ({
  version: 1, size: 5, etag: '"x"', lastModifiedMs: 1, owner: 'root', userMetadata: { a: 'b' }, contentType: 'text/plain', sealedManifest,
});

describe('object records', () => {
  it('carry the sealed manifest as raw bytes after the JSON, whatever its bytes', () => {
    for (const manifest of [Buffer.alloc(0), Buffer.from([0x01, 0x7b, 0x00]), randomBytes(100_000)]) {
      const encoded = encodeRecord(record(manifest));
      expect(encoded.length).toBeLessThan(manifest.length + 200); // no base64
      const decoded = decodeRecord<ObjectRecordV1>(encoded, 'object');
      expect(decoded.sealedManifest.equals(manifest)).toBe(true);
      expect({ ...decoded, sealedManifest: undefined }).toEqual({ ...record(manifest), sealedManifest: undefined });
    }
  });

  it('records without a manifest stay plain JSON; base64 manifests of older records still decode', () => {
    expect(encodeRecord({ version: 1, name: 'b' }).toString()).toBe('{"version":1,"name":"b"}');
    const manifest = randomBytes(64);
    const older = Buffer.from(JSON.stringify({ ...record(manifest), sealedManifest: manifest.toString('base64') }));
    expect(decodeRecord<ObjectRecordV1>(older, 'object').sealedManifest.equals(manifest)).toBe(true);
  });

  it('a truncated or garbled record is RecordCorrupt', () => {
    const encoded = encodeRecord(record(randomBytes(32)));
    for (const bad of [encoded.subarray(0, 3), encoded.subarray(0, 20), Buffer.from([0x01, 0, 0, 0, 2, 0x7b, 0x7d]).subarray(0, 6), Buffer.from('null'), Buffer.from('{"version":2}')]) {
      expect(() => decodeRecord(bad, 'object')).toThrow(expect.objectContaining({ code: 'RecordCorrupt' }));
    }
  });
});
