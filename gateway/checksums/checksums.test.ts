// Method: known answers ("123456789" check values from the CRC catalogue; RFC 1321 / FIPS 180
// vectors), then agreement with the SDK's own implementations (@aws-sdk/checksums: Crc32,
// Crc32cJs, Crc64NvmeJs) over seeded random inputs fed in random pieces, then verification
// outcomes (BadDigest, InvalidDigest, InvalidRequest) and the streaming wrapper.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc32 as SdkCrc32, Crc32cJs as SdkCrc32c, Crc64NvmeJs as SdkCrc64Nvme } from '@aws-sdk/checksums/crc';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../s3-errors.js';
import { algorithmsForHeaders, ChecksumSet, ChecksumStream, expectedChecksumsFromHeaders } from './checksum-set.js';
import { Crc32, Crc32c, Crc64Nvme, type RunningCrc } from './crc.js';
import { prng } from '../seeded-random.test-support.js';

const check = Buffer.from('123456789');

function run(crc: RunningCrc, ...pieces: Uint8Array[]): string {
  for (const piece of pieces) crc.update(piece);
  return crc.digest().toString('hex');
}


describe('CRC check values', () => {
  it('"123456789" gives the catalogue check values', () => {
    expect(run(new Crc32(), check)).toBe('cbf43926');
    expect(run(new Crc32(false), check)).toBe('cbf43926');
    expect(run(new Crc32c(), check)).toBe('e3069283');
    expect(run(new Crc64Nvme(), check)).toBe('ae8b14860a799888');
  });

  it('the empty input gives zero', () => {
    expect(run(new Crc32())).toBe('00000000');
    expect(run(new Crc32c())).toBe('00000000');
    expect(run(new Crc64Nvme())).toBe('0000000000000000');
  });

  it('agree with the SDK implementations on 200 seeded random inputs split at random points', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const data = Buffer.from(Array.from({ length: Math.floor(random() * 5000) }, () => Math.floor(random() * 256)));
      const cut = Math.floor(random() * (data.length + 1));
      const pieces = [data.subarray(0, cut), data.subarray(cut)];
      for (const [ours, theirs] of [[new Crc32(), new SdkCrc32()], [new Crc32(false), new SdkCrc32()], [new Crc32c(), new SdkCrc32c()], [new Crc64Nvme(), new SdkCrc64Nvme()]] as const) {
        theirs.update(data);
        const expected = Buffer.from(await theirs.digest()).toString('hex');
        expect([seed, run(ours, ...pieces)]).toEqual([seed, expected]);
      }
    }
  });
});

describe('ChecksumSet', () => {
  it('computes base64 digests as S3 sends them (MD5, SHA1, SHA256 known answers)', () => {
    const set = new ChecksumSet(['MD5', 'SHA1', 'SHA256', 'CRC32', 'CRC32C', 'CRC64NVME']);
    set.update(Buffer.from('a'));
    set.update(Buffer.from('bc'));
    expect(set.hex('MD5')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(set.hex('SHA1')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(set.hex('SHA256')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(set.base64('CRC32')).toBe(Buffer.from('352441c2', 'hex').toString('base64'));
  });

  it('verify: Content-MD5 mismatch and x-amz-checksum mismatch are BadDigest; match passes', () => {
    const set = new ChecksumSet(['MD5', 'CRC32']);
    set.update(check);
    const crc32 = Buffer.from('cbf43926', 'hex').toString('base64');
    set.verify({ contentMd5: set.base64('MD5'), checksums: { CRC32: crc32 } });
    const wrongMd5 = Buffer.alloc(16).toString('base64');
    for (const expected of [{ contentMd5: wrongMd5 }, { checksums: { CRC32: 'AAAAAA==' } }]) {
      try {
        set.verify(expected);
        throw new Error('expected BadDigest');
      } catch (error) {
        expect((error as S3Error).code).toBe('BadDigest');
        expect((error as S3Error).status).toBe(400);
      }
    }
  });

  it('expectedChecksumsFromHeaders: malformed Content-MD5 is InvalidDigest, malformed or multiple x-amz-checksum is InvalidRequest', () => {
    const code = (run: () => unknown) => { try { run(); return 'none'; } catch (error) { return (error as S3Error).code; } };
    expect(code(() => expectedChecksumsFromHeaders({ 'content-md5': 'abc' }))).toBe('InvalidDigest');
    expect(code(() => expectedChecksumsFromHeaders({ 'x-amz-checksum-crc32': 'AAAA' }))).toBe('InvalidRequest');
    expect(code(() => expectedChecksumsFromHeaders({ 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-checksum-crc32c': 'AAAAAA==' }))).toBe('InvalidRequest');
    expect(expectedChecksumsFromHeaders({}, new Map([['x-amz-checksum-crc64nvme', 'AAAAAAAAAAA=']]))).toEqual({ checksums: { CRC64NVME: 'AAAAAAAAAAA=' } });
    expect(algorithmsForHeaders({ 'x-amz-trailer': 'x-amz-checksum-crc32c', 'x-amz-checksum-sha1': 'x' })).toEqual(['MD5', 'CRC32C', 'SHA1']);
  });

  it('ChecksumStream passes bytes through and fails the stream with BadDigest at the end', async () => {
    const sink = () => new Writable({ write(_chunk, _encoding, callback) { callback(); } });
    const good = new ChecksumStream(['MD5', 'CRC32C'], () => ({ checksums: { CRC32C: Buffer.from('e3069283', 'hex').toString('base64') } }));
    await pipeline(Readable.from([check.subarray(0, 4), check.subarray(4)]), good, sink());
    expect(good.set.hex('MD5')).toBe('25f9e794323b453885f5181f1b624d0b');
    const bad = new ChecksumStream(['CRC32C'], () => ({ checksums: { CRC32C: 'AAAAAA==' } }));
    await expect(pipeline(Readable.from([check]), bad, sink())).rejects.toMatchObject({ code: 'BadDigest' });
  });
});
