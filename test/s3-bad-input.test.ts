// Contract: bad input at the S3 door gets S3's exact error code (S3 API Reference, "Error
// responses" → "List of error codes") and loses nothing. Method: objects are stored first with
// the SDK; then raw requests, signed with the SDK's signer (@smithy/signature-v4) and sent with
// node:http or byte-exact over node:net, break one rule each; at the end the stored objects read
// back byte-identical, no failed write left a key, and `cairn scrub` on the running node is clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Crc32 as SdkCrc32 } from '@aws-sdk/checksums/crc';
import { CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';
import { runCli } from './helpers/cli.js';
import { Sha256 } from './helpers/sha256.js';
import {
  codeOf, seedSignatureOf, sendOverSocket, sendRaw, sha256Hex, signedChunkedBody, signedSend, signingMaterial, signRequest,
} from './helpers/raw-s3.js';

let cairn: CairnProcess;
let s3: S3Client;
const bucket = 'bad-input';
const kept = new Map<string, Buffer>([['keep/a.bin', seededBytes(301, 1024 * 1024 + 3)], ['keep/b.txt', Buffer.from('small and precious')]]);

beforeAll(async () => {
  cairn = await startCairn();
  s3 = s3ClientFor(cairn);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of kept) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
});

afterAll(async () => {
  s3?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');

async function keyExists(key: string): Promise<boolean> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
  return (listed.Contents ?? []).some((item) => item.Key === key);
}

describe('malformed XML', () => {
  it('CompleteMultipartUpload with broken, empty-of-parts or foreign XML answers MalformedXML', async () => {
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-xml' }));
    for (const text of ['<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>', 'not xml at all', '<CompleteMultipartUpload></CompleteMultipartUpload>', '<Other/>']) {
      const response = await signedSend(cairn, { method: 'POST', path: `/${bucket}/mpu-xml`, query: { uploadId: upload.UploadId! }, body: Buffer.from(text) });
      expect([response.status, response.code], text).toEqual([400, 'MalformedXML']);
    }
  });

  it('DeleteObjects with broken XML answers MalformedXML and deletes nothing', async () => {
    for (const text of ['<Delete><Object><Key>keep/a.bin</Key></Object>', '<Delete><Object><Key>keep/b.txt</Key></Obj></Delete>', '']) {
      const body = Buffer.from(text);
      const response = await signedSend(cairn, { method: 'POST', path: `/${bucket}`, query: { delete: '' }, body, headers: { 'content-md5': md5Base64(body) } });
      expect([response.status, response.code], text).toEqual([400, 'MalformedXML']);
    }
  });
});

describe('CompleteMultipartUpload part lists', () => {
  it('out of order is InvalidPartOrder (even with a small part first), a wrong ETag InvalidPart, a bad upload id NoSuchUpload', async () => {
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-order' }));
    const query = { uploadId: upload.UploadId! };
    const first = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/mpu-order`, query: { ...query, partNumber: '1' }, body: seededBytes(305, 5 * 1024 * 1024) });
    const second = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/mpu-order`, query: { ...query, partNumber: '2' }, body: Buffer.from('tail') });
    const etag = (response: { headers: Record<string, unknown> }) => String(response.headers.etag);
    const complete = (parts: [number, string][], uploadId = upload.UploadId!) => signedSend(cairn, {
      method: 'POST', path: `/${bucket}/mpu-order`, query: { uploadId },
      body: Buffer.from(`<CompleteMultipartUpload>${parts.map(([number, tag]) => `<Part><PartNumber>${number}</PartNumber><ETag>${tag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`),
    });
    const reversed = await complete([[2, etag(second)], [1, etag(first)]]);
    expect([reversed.status, reversed.code]).toEqual([400, 'InvalidPartOrder']);
    const repeated = await complete([[1, etag(first)], [1, etag(first)]]);
    expect([repeated.status, repeated.code]).toEqual([400, 'InvalidPartOrder']);
    const wrongTag = await complete([[1, '"0123456789abcdef0123456789abcdef"'], [2, etag(second)]]);
    expect([wrongTag.status, wrongTag.code]).toEqual([400, 'InvalidPart']);
    const unknown = await complete([[1, etag(first)]], 'no-such-upload');
    expect([unknown.status, unknown.code]).toEqual([404, 'NoSuchUpload']);
    expect(await keyExists('mpu-order')).toBe(false);
  });
});

describe('authentication', () => {
  it('a wrong secret answers SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async () => {
    const wrong = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/b.txt`, credentials: { accessKeyId: cairn.accessKeyId, secretAccessKey: 'not-the-secret' } });
    expect([wrong.status, wrong.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/b.txt`, credentials: { accessKeyId: 'AKIDOESNOTEXIST00000', secretAccessKey: 'x' } });
    expect([unknown.status, unknown.code]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it('a request signed 20 minutes off answers RequestTimeTooSkewed, either way', async () => {
    for (const offsetMs of [-20 * 60_000, 20 * 60_000]) {
      const response = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/b.txt`, signingDate: new Date(Date.now() + offsetMs) });
      expect([response.status, response.code]).toEqual([403, 'RequestTimeTooSkewed']);
    }
  });

  it('an expired presigned URL answers AccessDenied', async () => {
    const url = new URL(`${cairn.endpoint}/${bucket}/keep/b.txt`);
    const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey }, sha256: Sha256 as never, uriEscapePath: false });
    const presigned = await signer.presign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers: { host: url.host } },
      { expiresIn: 60, signingDate: new Date(Date.now() - 5 * 60_000) });
    const response = await fetch(`${url.origin}${url.pathname}?${new URLSearchParams(presigned.query as Record<string, string>)}`);
    const text = await response.text();
    expect([response.status, codeOf(text)]).toEqual([403, 'AccessDenied']);
    expect(text).toContain('Request has expired');
  });
});

describe('bodies that are not what they claim', () => {
  async function chunkedPut(key: string, data: Buffer) {
    const request = await signRequest(cairn, {
      method: 'PUT', path: `/${bucket}/${key}`, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) },
    });
    const { signingKey, scope } = signingMaterial(cairn.secretAccessKey, request.headers['x-amz-date']);
    const body = signedChunkedBody([data.subarray(0, 65536), data.subarray(65536)], seedSignatureOf(request), request.headers['x-amz-date'], { signingKey, scope });
    return { request, body };
  }

  it('a well-formed signed aws-chunked PUT is accepted (the framing below is right)', async () => {
    const data = seededBytes(302, 100_000);
    const { request, body } = await chunkedPut('chunked-ok', data);
    const response = await sendRaw(cairn, { ...request, headers: { ...request.headers, 'content-length': String(body.length) } }, body);
    expect(response.status, response.body).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'chunked-ok' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('an aws-chunked body cut short answers IncompleteBody and stores nothing', async () => {
    const data = seededBytes(303, 100_000);
    const { request, body } = await chunkedPut('chunked-cut', data);
    const cut = body.subarray(0, 80_000);
    // Content-Length agrees with what is sent; the aws-chunked framing inside is what is short.
    const response = await sendRaw(cairn, { ...request, headers: { ...request.headers, 'content-length': String(cut.length) } }, cut);
    expect([response.status, response.code]).toEqual([400, 'IncompleteBody']);
    expect(await keyExists('chunked-cut')).toBe(false);
  });

  it('an aws-chunked body with one altered data byte answers SignatureDoesNotMatch and stores nothing', async () => {
    const data = seededBytes(306, 100_000);
    const { request, body } = await chunkedPut('chunked-forged', data);
    const forged = Buffer.from(body);
    forged[forged.indexOf('\r\n') + 2 + 1000] ^= 0xff; // inside the first chunk's data
    const response = await sendRaw(cairn, { ...request, headers: { ...request.headers, 'content-length': String(forged.length) } }, forged);
    expect([response.status, response.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await keyExists('chunked-forged')).toBe(false);
  });

  it('a connection that ends mid-body (raw socket) stores nothing, and any answer is IncompleteBody', async () => {
    const data = seededBytes(304, 100_000);
    const { request, body } = await chunkedPut('chunked-dropped', data);
    const answer = await sendOverSocket(cairn, { ...request, headers: { ...request.headers, 'content-length': String(body.length) } }, body.subarray(0, 70_000));
    if (answer !== '') expect(codeOf(answer) ?? answer).toBe('IncompleteBody');
    expect(await keyExists('chunked-dropped')).toBe(false);
  });

  it('a wrong Content-MD5 answers BadDigest, stores nothing, and leaves an overwritten object intact', async () => {
    const body = Buffer.from('these bytes do not match their MD5');
    const fresh = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/md5-wrong`, body, headers: { 'content-md5': md5Base64(Buffer.from('other')) } });
    expect([fresh.status, fresh.code]).toEqual([400, 'BadDigest']);
    expect(await keyExists('md5-wrong')).toBe(false);
    const over = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/keep/b.txt`, body, headers: { 'content-md5': md5Base64(Buffer.from('other')) } });
    expect([over.status, over.code]).toEqual([400, 'BadDigest']);
    const malformed = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/md5-malformed`, body, headers: { 'content-md5': 'not-base64-md5' } });
    expect([malformed.status, malformed.code]).toEqual([400, 'InvalidDigest']);
  });

  it('a wrong CRC32 trailer on an unsigned aws-chunked body (the SDK\'s default shape) answers BadDigest', async () => {
    const data = Buffer.from('trailer checksum will not match');
    const body = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n')]);
    const response = await signedSend(cairn, {
      method: 'PUT', path: `/${bucket}/trailer-wrong`, body, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': 'x-amz-checksum-crc32' },
    });
    expect([response.status, response.code]).toEqual([400, 'BadDigest']);
    expect(await keyExists('trailer-wrong')).toBe(false);
  });

  // Bodies of digestLimits.offThreadBytesMin (1 MiB) and more are hashed on the digest worker:
  // the same answers must come from there.
  it('large bodies (hashed off-thread): a wrong Content-MD5 or CRC32 trailer answers BadDigest; a right one stores with ETag = MD5', async () => {
    const data = seededBytes(307, 2 * 1024 * 1024 + 17);
    const wrongMd5 = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/large-md5-wrong`, body: data, headers: { 'content-md5': md5Base64(Buffer.from('other')) } });
    expect([wrongMd5.status, wrongMd5.code]).toEqual([400, 'BadDigest']);
    expect(await keyExists('large-md5-wrong')).toBe(false);
    const framed = (trailer: string) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${trailer}\r\n\r\n`)]);
    const trailerHeaders = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': 'x-amz-checksum-crc32' };
    const wrongCrc = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/large-crc-wrong`, body: framed('AAAAAA=='), payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers: trailerHeaders });
    expect([wrongCrc.status, wrongCrc.code]).toEqual([400, 'BadDigest']);
    expect(await keyExists('large-crc-wrong')).toBe(false);
    const crc = new SdkCrc32();
    crc.update(data);
    const good = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/large-good`, body: framed(Buffer.from(await crc.digest()).toString('base64')), payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers: { ...trailerHeaders, 'content-md5': md5Base64(data) } });
    expect(good.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'large-good' }));
    expect(got.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'large-good' })); // the last test lists exactly what it expects
  });

  it('a wrong x-amz-checksum-crc32 answers BadDigest and stores nothing', async () => {
    const body = Buffer.from('crc32 will not match');
    const response = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/crc-wrong`, body, headers: { 'x-amz-checksum-crc32': 'AAAAAA==' } });
    expect([response.status, response.code]).toEqual([400, 'BadDigest']);
    expect(await keyExists('crc-wrong')).toBe(false);
  });

  it('a body that does not hash to x-amz-content-sha256 answers XAmzContentSHA256Mismatch and stores nothing', async () => {
    const response = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/sha-wrong`, body: Buffer.from('sent'), payloadHash: sha256Hex('signed') });
    expect([response.status, response.code]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await keyExists('sha-wrong')).toBe(false);
  });

  it('a PUT without Content-Length answers MissingContentLength (411)', async () => {
    const request = await signRequest(cairn, { method: 'PUT', path: `/${bucket}/no-length`, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'transfer-encoding': 'chunked' } });
    const response = await sendRaw(cairn, request, Buffer.from('no length declared'));
    expect([response.status, response.code]).toEqual([411, 'MissingContentLength']);
    expect(await keyExists('no-length')).toBe(false);
  });
});

describe('ranges, names and numbers', () => {
  it('unsatisfiable ranges answer InvalidRange (416); a part number past the end InvalidPartNumber (416)', async () => {
    const size = kept.get('keep/a.bin')!.length;
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const response = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/a.bin`, headers: { range } });
      expect([response.status, response.code], range).toEqual([416, 'InvalidRange']);
    }
    const part = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/a.bin`, query: { partNumber: '2' } });
    expect([part.status, part.code]).toEqual([416, 'InvalidPartNumber']);
  });

  it('a header section over the limit gets a clear error, not a dropped connection', async () => {
    const response = await signedSend(cairn, { method: 'GET', path: `/${bucket}/keep/b.txt`, headers: { 'x-amz-meta-padding': 'p'.repeat(20 * 1024) } });
    expect([response.status, response.code]).toEqual([400, 'RequestHeaderSectionTooLarge']);
  });

  it('invalid bucket names answer InvalidBucketName', async () => {
    for (const name of ['ab', 'UpperCase', 'under_score', '-leading', 'trailing-', 'two..dots', '192.168.1.10', 'x'.repeat(64), 'xn--punycode', 'bucket-s3alias']) {
      const response = await signedSend(cairn, { method: 'PUT', path: `/${name}` });
      expect([response.status, response.code], name).toEqual([400, 'InvalidBucketName']);
    }
  });

  it('a path with a broken %-escape answers InvalidURI in S3 XML', async () => {
    const response = await sendRaw(cairn, await signRequest(cairn, { method: 'GET', path: `/${bucket}/broken%E0%A4%A` }));
    expect([response.status, response.code]).toEqual([400, 'InvalidURI']);
  });

  it('a key longer than 1024 bytes answers KeyTooLongError', async () => {
    const response = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/${'k'.repeat(1025)}`, body: Buffer.from('x') });
    expect([response.status, response.code]).toEqual([400, 'KeyTooLongError']);
    const multibyte = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/${encodeURIComponent('é'.repeat(513))}`, body: Buffer.from('x') });
    expect([multibyte.status, multibyte.code]).toEqual([400, 'KeyTooLongError']);
  });

  it('part numbers 0 and 10001 answer InvalidArgument', async () => {
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-numbers' }));
    for (const partNumber of ['0', '10001', '-1', 'one']) {
      const response = await signedSend(cairn, { method: 'PUT', path: `/${bucket}/mpu-numbers`, query: { partNumber, uploadId: upload.UploadId! }, body: Buffer.from('part') });
      expect([response.status, response.code], partNumber).toEqual([400, 'InvalidArgument']);
    }
  });
});

describe('afterwards', () => {
  it('the objects stored first are intact, no failed write left a key, and scrub is clean', async () => {
    for (const [key, body] of kept) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(sha256Hex(Buffer.from(await got.Body!.transformToByteArray())), key).toBe(sha256Hex(body));
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((item) => item.Key)).toEqual(['chunked-ok', 'keep/a.bin', 'keep/b.txt']);
    const report = JSON.parse(await runCli(['scrub', '--data', cairn.dataDir])) as Record<string, unknown>;
    expect(report).toMatchObject({ corrupt: [] });
    // Every refusal above was an S3 error, none a 500 the node had to log as a bug.
    expect(cairn.output()).not.toMatch(/internal error/i);
  });
});
