// Contract: the S3 API as @aws-sdk/client-s3 (default checksum behaviour: aws-chunked bodies
// with CRC32 trailers) uses it, against a real `cairn serve` child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketLocationCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, ListBucketsCommand, ListMultipartUploadsCommand, ListObjectsCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from './helpers/presign.js';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';

let cairn: CairnProcess;
let s3: S3Client;

beforeAll(async () => {
  cairn = await startCairn();
  s3 = s3ClientFor(cairn);
});

afterAll(async () => {
  s3?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

async function errorOf(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('buckets', () => {
  it('CreateBucket, HeadBucket, ListBuckets, GetBucketLocation, DeleteBucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-buckets' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'sdk-buckets' }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((bucket) => bucket.Name)).toContain('sdk-buckets');
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: 'sdk-buckets' }));
    expect(location.LocationConstraint ?? '').toBe('');
    expect((await errorOf(s3.send(new CreateBucketCommand({ Bucket: 'sdk-buckets' })))).name).toBe('BucketAlreadyOwnedByYou');
    await s3.send(new DeleteBucketCommand({ Bucket: 'sdk-buckets' }));
    expect((await errorOf(s3.send(new HeadBucketCommand({ Bucket: 'sdk-buckets' })))).$metadata.httpStatusCode).toBe(404);
  });

  it('rejects invalid bucket names and deleting a bucket that is not empty', async () => {
    expect((await errorOf(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name).toBe('InvalidBucketName');
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-notempty' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-notempty', Key: 'a', Body: 'x' }));
    expect((await errorOf(s3.send(new DeleteBucketCommand({ Bucket: 'sdk-notempty' })))).name).toBe('BucketNotEmpty');
  });
});

describe('objects', () => {
  beforeAll(async () => { await s3.send(new CreateBucketCommand({ Bucket: 'sdk-objects' })); });

  it('PutObject then GetObject returns the same bytes, metadata and ETag', async () => {
    const body = seededBytes(1, 3 * 1024 * 1024 + 17);
    const put = await s3.send(new PutObjectCommand({
      Bucket: 'sdk-objects', Key: 'dir/file.bin', Body: body, ContentType: 'application/x-test', Metadata: { colour: 'blue' }, CacheControl: 'max-age=5',
    }));
    expect(put.ETag).toBe(`"${md5(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'dir/file.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.Metadata).toEqual({ colour: 'blue' });
    expect(got.CacheControl).toBe('max-age=5');
    expect(got.ContentLength).toBe(body.length);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sdk-objects', Key: 'dir/file.bin' }));
    expect(head.ETag).toBe(put.ETag);
  });

  it('returns the CRC32 the SDK sent when asked for checksums', async () => {
    const body = seededBytes(2, 100_000);
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-objects', Key: 'crc', Body: body, ChecksumAlgorithm: 'CRC32' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'crc', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC32).toBeTruthy();
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('serves ranges, suffix ranges and rejects unsatisfiable ones with InvalidRange', async () => {
    const body = seededBytes(3, 1_000_000);
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-objects', Key: 'ranged', Body: body }));
    const middle = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'ranged', Range: 'bytes=500000-700000' }));
    expect(middle.ContentRange).toBe('bytes 500000-700000/1000000');
    expect(Buffer.from(await middle.Body!.transformToByteArray()).equals(body.subarray(500000, 700001))).toBe(true);
    const suffix = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'ranged', Range: 'bytes=-10' }));
    expect(Buffer.from(await suffix.Body!.transformToByteArray()).equals(body.subarray(body.length - 10))).toBe(true);
    const error = await errorOf(s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'ranged', Range: 'bytes=2000000-' })));
    expect(error.name).toBe('InvalidRange');
    expect(error.$metadata.httpStatusCode).toBe(416);
  });

  it('honours If-Match, If-None-Match and If-Modified-Since', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'sdk-objects', Key: 'cond', Body: 'conditional' }));
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'cond', IfMatch: '"0000"' })))).$metadata.httpStatusCode).toBe(412);
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'cond', IfNoneMatch: put.ETag })))).$metadata.httpStatusCode).toBe(304);
    const future = new Date(Date.now() + 3600_000);
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'cond', IfModifiedSince: future })))).$metadata.httpStatusCode).toBe(304);
    const ok = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'cond', IfMatch: put.ETag, ResponseContentType: 'text/x-override' }));
    expect(ok.ContentType).toBe('text/x-override');
    expect(await ok.Body!.transformToString()).toBe('conditional');
  });

  it('DeleteObject, DeleteObjects and NoSuchKey', async () => {
    for (const key of ['d1', 'd2', 'd3']) await s3.send(new PutObjectCommand({ Bucket: 'sdk-objects', Key: key, Body: key }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'sdk-objects', Key: 'd1' }));
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: 'sdk-objects', Delete: { Objects: [{ Key: 'd2' }, { Key: 'd3' }, { Key: 'never' }] } }));
    expect(result.Deleted?.map((item) => item.Key).sort()).toEqual(['d2', 'd3', 'never']);
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'd2' })))).name).toBe('NoSuchKey');
  });

  it('CopyObject keeps or replaces metadata', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-objects', Key: 'src', Body: 'copy me', Metadata: { a: '1' }, ContentType: 'text/plain' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'sdk-objects', Key: 'dst1', CopySource: 'sdk-objects/src' }));
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'sdk-objects', Key: 'dst1' }));
    expect(kept.Metadata).toEqual({ a: '1' });
    expect(await kept.Body!.transformToString()).toBe('copy me');
    await s3.send(new CopyObjectCommand({ Bucket: 'sdk-objects', Key: 'dst2', CopySource: 'sdk-objects/src', MetadataDirective: 'REPLACE', Metadata: { b: '2' }, ContentType: 'x/y' }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'sdk-objects', Key: 'dst2' }));
    expect(replaced.Metadata).toEqual({ b: '2' });
    expect(replaced.ContentType).toBe('x/y');
    expect((await errorOf(s3.send(new CopyObjectCommand({ Bucket: 'sdk-objects', Key: 'src', CopySource: 'sdk-objects/src' })))).name).toBe('InvalidRequest');
  });

  it('presigned GET and PUT URLs work and a tampered one is refused', async () => {
    const putUrl = await getSignedUrl(cairn, 'PUT', 'sdk-objects', 'presigned', 300);
    expect((await fetch(putUrl, { method: 'PUT', body: 'via presign' })).status).toBe(200);
    const getUrl = await getSignedUrl(cairn, 'GET', 'sdk-objects', 'presigned', 300);
    const response = await fetch(getUrl);
    expect(await response.text()).toBe('via presign');
    const tampered = await fetch(getUrl.replace('presigned', 'presignee'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});

describe('listing', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-list' }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e+f', 'ü/1'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'sdk-list', Key: key, Body: key }));
  });

  it('ListObjectsV2 with prefix, delimiter and continuation tokens visits every key once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk-list', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((item) => item.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e+f', 'ü/1']);
    const folded = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk-list', Delimiter: '/' }));
    expect(folded.CommonPrefixes?.map((item) => item.Prefix)).toEqual(['a/', 'b/', 'ü/']);
    expect(folded.Contents?.map((item) => item.Key)).toEqual(['c', 'd e+f']);
    const inside = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk-list', Prefix: 'a/', Delimiter: '/', StartAfter: 'a/1' }));
    expect(inside.Contents?.map((item) => item.Key)).toEqual(['a/2']);
    expect(inside.CommonPrefixes?.map((item) => item.Prefix)).toEqual(['a/b/']);
  });

  it('ListObjects V1 pages with markers', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: 'sdk-list', Delimiter: '/', MaxKeys: 2 }));
    expect(first.IsTruncated).toBe(true);
    const second = await s3.send(new ListObjectsCommand({ Bucket: 'sdk-list', Delimiter: '/', Marker: first.NextMarker }));
    expect([...(second.CommonPrefixes ?? []).map((item) => item.Prefix), ...(second.Contents ?? []).map((item) => item.Key)].sort()).toEqual(['c', 'd e+f', 'ü/']);
  });
});

describe('multipart', () => {
  beforeAll(async () => { await s3.send(new CreateBucketCommand({ Bucket: 'sdk-mpu' })); });

  it('uploads parts, lists them, completes with S3\'s multipart ETag, and serves the whole', async () => {
    const parts = [seededBytes(10, 5 * 1024 * 1024), seededBytes(11, 5 * 1024 * 1024), seededBytes(12, 1234)];
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'big', ContentType: 'application/x-big' }));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'sdk-mpu' }));
    expect(uploads.Uploads?.map((upload) => upload.UploadId)).toContain(created.UploadId);
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const result = await s3.send(new UploadPartCommand({ Bucket: 'sdk-mpu', Key: 'big', UploadId: created.UploadId, PartNumber: index + 1, Body: part }));
      etags.push(result.ETag!);
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'sdk-mpu', Key: 'big', UploadId: created.UploadId }));
    expect(listed.Parts?.map((part) => part.Size)).toEqual(parts.map((part) => part.length));
    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'sdk-mpu', Key: 'big', UploadId: created.UploadId, MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
    }));
    const expected = createHash('md5').update(Buffer.concat(parts.map((part) => createHash('md5').update(part).digest()))).digest('hex');
    expect(done.ETag).toBe(`"${expected}-3"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-mpu', Key: 'big' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
    expect(got.ContentType).toBe('application/x-big');
    const part2 = await s3.send(new GetObjectCommand({ Bucket: 'sdk-mpu', Key: 'big', PartNumber: 2 }));
    expect(part2.PartsCount).toBe(3);
    expect(Buffer.from(await part2.Body!.transformToByteArray()).equals(parts[1])).toBe(true);
  });

  it('a multipart upload with ChecksumAlgorithm CRC32 completes with S3\'s composite checksum', async () => {
    const parts = [seededBytes(30, 5 * 1024 * 1024), seededBytes(31, 4321)];
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'crc-composite', ChecksumAlgorithm: 'CRC32' }));
    const done: { ETag: string; PartNumber: number; ChecksumCRC32: string }[] = [];
    for (const [index, part] of parts.entries()) {
      const result = await s3.send(new UploadPartCommand({ Bucket: 'sdk-mpu', Key: 'crc-composite', UploadId: created.UploadId, PartNumber: index + 1, Body: part, ChecksumAlgorithm: 'CRC32' }));
      done.push({ ETag: result.ETag!, PartNumber: index + 1, ChecksumCRC32: result.ChecksumCRC32! });
    }
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'crc-composite', UploadId: created.UploadId, MultipartUpload: { Parts: done } }));
    // The composite is CRC32 over the parts' raw CRC32s, suffixed with the part count.
    const raw = Buffer.concat(parts.map((part) => { const value = Buffer.alloc(4); value.writeUInt32BE(crc32(part)); return value; }));
    const expected = Buffer.alloc(4);
    expected.writeUInt32BE(crc32(raw));
    expect(done.map((part) => part.ChecksumCRC32)).toEqual(parts.map((part) => { const value = Buffer.alloc(4); value.writeUInt32BE(crc32(part)); return value.toString('base64'); }));
    expect(completed.ChecksumCRC32).toBe(`${expected.toString('base64')}-2`);
  });

  it('UploadPartCopy with a range, small parts refused, abort forgets the upload', async () => {
    const source = seededBytes(20, 6 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-mpu', Key: 'source', Body: source }));
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'copied' }));
    const first = await s3.send(new UploadPartCopyCommand({ Bucket: 'sdk-mpu', Key: 'copied', UploadId: created.UploadId, PartNumber: 1, CopySource: 'sdk-mpu/source', CopySourceRange: 'bytes=0-5242879' }));
    const second = await s3.send(new UploadPartCopyCommand({ Bucket: 'sdk-mpu', Key: 'copied', UploadId: created.UploadId, PartNumber: 2, CopySource: 'sdk-mpu/source', CopySourceRange: `bytes=5242880-${source.length - 1}` }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'copied', UploadId: created.UploadId,
      MultipartUpload: { Parts: [{ ETag: first.CopyPartResult!.ETag, PartNumber: 1 }, { ETag: second.CopyPartResult!.ETag, PartNumber: 2 }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk-mpu', Key: 'copied' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(source)).toBe(true);

    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'small' }));
    const a = await s3.send(new UploadPartCommand({ Bucket: 'sdk-mpu', Key: 'small', UploadId: small.UploadId, PartNumber: 1, Body: 'tiny' }));
    const b = await s3.send(new UploadPartCommand({ Bucket: 'sdk-mpu', Key: 'small', UploadId: small.UploadId, PartNumber: 2, Body: 'tiny' }));
    const tooSmall = await errorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'small', UploadId: small.UploadId,
      MultipartUpload: { Parts: [{ ETag: a.ETag, PartNumber: 1 }, { ETag: b.ETag, PartNumber: 2 }] } })));
    expect(tooSmall.name).toBe('EntityTooSmall');
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'sdk-mpu', Key: 'small', UploadId: small.UploadId }));
    expect((await errorOf(s3.send(new ListPartsCommand({ Bucket: 'sdk-mpu', Key: 'small', UploadId: small.UploadId })))).name).toBe('NoSuchUpload');
  });
});

describe('tenants', () => {
  it('another user gets AccessDenied on a bucket it does not own', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const created = JSON.parse(await runCli(['user', 'add', 'mallory', '--data', cairn.dataDir])) as { accessKeyId: string; secretAccessKey: string };
    const other = s3ClientFor(cairn, created);
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk-private' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sdk-private', Key: 'secret', Body: 'root only' }));
    expect((await errorOf(other.send(new GetObjectCommand({ Bucket: 'sdk-private', Key: 'secret' })))).name).toBe('AccessDenied');
    expect((await errorOf(other.send(new PutObjectCommand({ Bucket: 'sdk-private', Key: 'x', Body: 'y' })))).name).toBe('AccessDenied');
    const mine = await other.send(new ListBucketsCommand({}));
    expect(mine.Buckets ?? []).toEqual([]);
    const wrong = s3ClientFor(cairn, { accessKeyId: created.accessKeyId, secretAccessKey: 'wrong-secret' });
    expect((await errorOf(wrong.send(new ListBucketsCommand({})))).name).toBe('SignatureDoesNotMatch');
    const unknown = s3ClientFor(cairn, { accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' });
    expect((await errorOf(unknown.send(new ListBucketsCommand({})))).name).toBe('InvalidAccessKeyId');
    other.destroy(); wrong.destroy(); unknown.destroy();
  });
});
