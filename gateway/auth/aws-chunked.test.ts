// Method: the S3 documentation's chunked-upload example (seed and three chunk signatures) is
// decoded byte for byte; then round trips through our encoder in every mode and split size;
// then targeted refusals; then a seeded fuzz (valid bodies mutated, random split points) that
// must end in success or an S3Error, never another error and never a hang.

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { S3Error, type S3ErrorCode } from '../s3-errors.js';
import { AwsChunkedDecoder, type AwsChunkedMode, type AwsChunkedOptions } from './aws-chunked.js';
import { encodeAwsChunked } from './aws-chunked-encoder.js';
import { bodyDecoderFor } from './payload.js';
import { deriveSigningKey } from './sigv4-canonical.js';
import { verifySigV4 } from './sigv4-verify.js';
import { prng } from '../seeded-random.test-support.js';

const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const seedSignature = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const signedMode: AwsChunkedMode = {
  kind: 'signed',
  seedSignature,
  signingKey: deriveSigningKey(secret, '20130524', 'us-east-1', 's3'),
  scope: '20130524/us-east-1/s3/aws4_request',
  amzDate: '20130524T000000Z',
  trailer: false,
};

async function decode(options: AwsChunkedOptions, body: Buffer, splits: readonly number[] = []): Promise<{ data: Buffer; trailers: Map<string, string> }> {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const split of [...splits].sort((a, b) => a - b)) {
    if (split > start && split < body.length) {
      pieces.push(body.subarray(start, split));
      start = split;
    }
  }
  pieces.push(body.subarray(start));
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, new Writable({ write(chunk: Buffer, _e, cb) { out.push(chunk); cb(); } }));
  return { data: Buffer.concat(out), trailers: new Map(decoder.trailers) };
}

async function expectDecodeError(options: AwsChunkedOptions, body: Buffer, code: S3ErrorCode): Promise<void> {
  const error = await decode(options, body).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(S3Error);
  expect((error as S3Error).code).toBe(code);
}

// S3 API Reference, "Transferring Payload in Multiple Chunks", Example: PUT Object.
describe('AwsChunkedDecoder with the AWS chunked-upload example', () => {
  const chunk1 = Buffer.alloc(65536, 'a');
  const chunk2 = Buffer.alloc(1024, 'a');
  const body = Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'), chunk1, Buffer.from('\r\n'),
    Buffer.from('400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'), chunk2, Buffer.from('\r\n'),
    Buffer.from('0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ]);
  const headers = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=${seedSignature}`,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
  };

  it('the example body is 66824 bytes, as its Content-Length says', () => {
    expect(body.length).toBe(66824);
  });

  it('verifySigV4 yields the seed signature, and the decoder checks every chunk signature', async () => {
    const auth = verifySigV4(
      { method: 'PUT', path: '/examplebucket/chunkObject.txt', query: '', headers, now: new Date('2013-05-24T00:01:00Z') },
      { service: 's3', region: 'us-east-1', credentials: () => ({ secretAccessKey: secret, userId: 'u' }) },
    );
    expect(auth.payload.kind).toBe('streaming-signed');
    if (auth.payload.kind !== 'streaming-signed') return;
    expect(auth.payload.seedSignature).toBe(seedSignature);
    const decoder = bodyDecoderFor(auth.payload, headers);
    const out: Buffer[] = [];
    await pipeline(Readable.from([body]), decoder, new Writable({ write(chunk: Buffer, _e, cb) { out.push(chunk); cb(); } }));
    expect(Buffer.concat(out).equals(Buffer.concat([chunk1, chunk2]))).toBe(true);
  });

  it('decodes byte by byte too, and refuses a flipped data byte with SignatureDoesNotMatch', async () => {
    const splits = Array.from({ length: 200 }, (_, index) => index * 331);
    expect((await decode({ mode: signedMode, decodedContentLength: 66560 }, body, splits)).data.length).toBe(66560);
    const flipped = Buffer.from(body);
    flipped[100] = 0x62;
    await expectDecodeError({ mode: signedMode, decodedContentLength: 66560 }, flipped, 'SignatureDoesNotMatch');
  });
});

describe('AwsChunkedDecoder round trips and refusals', () => {
  const data = [Buffer.from('hello '), Buffer.from('chunked '), Buffer.from('world')];
  const total = 19;
  const trailerMode: AwsChunkedMode = { ...signedMode, trailer: true };
  const trailers: Array<[string, string]> = [['x-amz-checksum-crc32', 'DUoRhQ==']];

  it('signed with trailer, unsigned with trailer: data and trailers come out', async () => {
    for (const mode of [trailerMode, { kind: 'unsigned-trailer' } as const]) {
      const body = encodeAwsChunked({ mode, chunks: data, trailers });
      const result = await decode({ mode, decodedContentLength: total, declaredTrailers: ['x-amz-checksum-crc32'] }, body, [1, 5, 30]);
      expect(result.data.toString()).toBe('hello chunked world');
      expect(result.trailers).toEqual(new Map(trailers));
    }
  });

  it('a tampered trailer value or missing trailer signature is SignatureDoesNotMatch', async () => {
    const body = encodeAwsChunked({ mode: trailerMode, chunks: data, trailers }).toString('latin1');
    const options = { mode: trailerMode, decodedContentLength: total, declaredTrailers: ['x-amz-checksum-crc32'] };
    await expectDecodeError(options, Buffer.from(body.replace('DUoRhQ==', 'AAAAAA=='), 'latin1'), 'SignatureDoesNotMatch');
    await expectDecodeError(options, Buffer.from(body.replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1'), 'SignatureDoesNotMatch');
  });

  it('truncation is IncompleteBody; length mismatch is IncompleteBody; bad framing is InvalidArgument', async () => {
    const options = { mode: signedMode, decodedContentLength: total };
    const body = encodeAwsChunked({ mode: signedMode, chunks: data });
    await decode(options, body);
    for (const cut of [0, 1, 50, body.length - 1]) await expectDecodeError(options, body.subarray(0, cut), 'IncompleteBody');
    await expectDecodeError({ ...options, decodedContentLength: total + 1 }, body, 'IncompleteBody');
    await expectDecodeError({ ...options, decodedContentLength: total - 1 }, body, 'IncompleteBody');
    await expectDecodeError(options, Buffer.from('zz;chunk-signature=00\r\n'), 'InvalidArgument');
    await expectDecodeError(options, Buffer.concat([body, Buffer.from('x')]), 'InvalidArgument');
    await expectDecodeError(options, Buffer.alloc(5000, 'a'), 'InvalidArgument');
  });

  it('swapped chunks break the signature chain', async () => {
    const body = encodeAwsChunked({ mode: signedMode, chunks: [data[1]!, data[0]!, data[2]!] });
    const reordered = encodeAwsChunked({ mode: signedMode, chunks: data });
    expect(body.equals(reordered)).toBe(false);
    const text = reordered.toString('latin1');
    const lines = text.split('\r\n');
    // Swap the first two (header, data) pairs.
    const swapped = [lines[2], lines[3], lines[0], lines[1], ...lines.slice(4)].join('\r\n');
    await expectDecodeError({ mode: signedMode, decodedContentLength: total }, Buffer.from(swapped, 'latin1'), 'SignatureDoesNotMatch');
  });

  it('undeclared or unexpected trailers are MalformedTrailerError', async () => {
    const unsigned = { kind: 'unsigned-trailer' } as const;
    const body = encodeAwsChunked({ mode: unsigned, chunks: data, trailers });
    await expectDecodeError({ mode: unsigned, decodedContentLength: total, declaredTrailers: ['x-amz-checksum-sha256'] }, body, 'MalformedTrailerError');
    await expectDecodeError({ mode: signedMode, decodedContentLength: total }, encodeAwsChunked({ mode: signedMode, chunks: data, trailers }), 'MalformedTrailerError');
  });
});


function mutate(body: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const copy = Buffer.from(body);
  switch (pick(7)) {
    case 0: copy[pick(copy.length)] ^= 1 << pick(8); return copy;
    case 1: return copy.subarray(0, pick(copy.length + 1));
    case 2: { const at = pick(copy.length); return Buffer.concat([copy.subarray(0, at), Buffer.from([pick(256)]), copy.subarray(at)]); }
    case 3: { const at = pick(copy.length); return Buffer.concat([copy.subarray(0, at), copy.subarray(at + 1 + pick(8))]); }
    case 4: return Buffer.from(Array.from({ length: pick(300) }, () => '0123456789abcdef;=\r\n-:xz'.charCodeAt(pick(25))));
    case 5: { const at = pick(copy.length); return Buffer.concat([copy.subarray(0, at), Buffer.from('\r\n'), copy.subarray(at)]); }
    default: return copy; // unchanged: must decode
  }
}

describe('AwsChunkedDecoder fuzz', () => {
  it('2,400 seeded mutated bodies end in success or an S3Error, never anything else', async () => {
    const modes: AwsChunkedMode[] = [signedMode, { ...signedMode, trailer: true }, { kind: 'unsigned-trailer' }];
    for (let seed = 1; seed <= 2400; seed++) {
      const random = prng(seed);
      const mode = modes[seed % modes.length]!;
      const chunks = Array.from({ length: Math.floor(random() * 4) }, () => Buffer.alloc(1 + Math.floor(random() * 300), Math.floor(random() * 256)));
      const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      const hasTrailer = mode.kind === 'unsigned-trailer' || mode.trailer;
      const trailers: Array<[string, string]> = hasTrailer ? [['x-amz-checksum-crc32c', 'sOO8/Q==']] : [];
      const body = mutate(encodeAwsChunked({ mode, chunks, trailers }), random);
      const splits = Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * body.length));
      const options = { mode, decodedContentLength: length, declaredTrailers: trailers.map(([name]) => name) };
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        decode(options, body, splits).then(() => 'ok', (error: unknown) => error),
        new Promise((resolve) => { timer = setTimeout(() => resolve('hang'), 2000); }),
      ]);
      clearTimeout(timer);
      if (outcome !== 'ok' && !(outcome instanceof S3Error)) throw new Error(`seed ${seed}: ${String(outcome)}`);
    }
  }, 60_000);
});
