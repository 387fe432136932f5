// Contract: seeds 1 and 2 seen through S3. Method: PUT through the real SDK against a real
// `cairn serve`, and read the chunk store's figures through `cairn stats` (the admin API).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from './helpers/upload.js';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { runCli } from './helpers/cli.js';
import { adminCall } from './helpers/admin.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';
import { seededPieces, seededStream, sha256Of, sha256OfStream } from './helpers/stream-bytes.js';

let cairn: CairnProcess;
let s3: S3Client;
const mib = 1024 * 1024;

interface Stats { chunks: number; liveBytes: number; segmentBytes: number }
const stats = (): Promise<Stats> => adminCall<Stats>(cairn, 'GET', '/stats');

beforeAll(async () => {
  cairn = await startCairn();
  s3 = s3ClientFor(cairn);
  await s3.send(new CreateBucketCommand({ Bucket: 'dedup' }));
});

afterAll(async () => {
  s3?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

describe('block-level convergent dedup (seed 1)', () => {
  const size = 256 * mib;

  it('the same 256 MiB under a second key grows the store by less than 1 %', async () => {
    await new Upload(s3, { Bucket: 'dedup', Key: 'first', Body: seededStream(7, size) }).done();
    const before = await stats();
    expect(before.liveBytes).toBeGreaterThan(size * 0.99);
    await new Upload(s3, { Bucket: 'dedup', Key: 'second', Body: seededStream(7, size) }).done();
    const after = await stats();
    expect(after.liveBytes - before.liveBytes).toBeLessThan(size * 0.01);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'dedup', Key: 'second' }));
    expect(await sha256OfStream(got.Body as AsyncIterable<Uint8Array>)).toBe(sha256Of(seededPieces(7, size)));
  }, 300_000);

  it('the same data with one byte inserted in the middle adds only a few chunks', async () => {
    const before = await stats();
    await new Upload(s3, { Bucket: 'dedup', Key: 'shifted', Body: seededStream(7, size, size / 2) }).done();
    const after = await stats();
    // FastCDC re-synchronises after the edit: one or two chunks around it change (≤ 256 KiB each).
    expect(after.chunks - before.chunks).toBeLessThanOrEqual(4);
    expect(after.liveBytes - before.liveBytes).toBeLessThan(4 * 256 * 1024 + 4096);
  }, 300_000);
});

describe('salted redundancy (seed 2)', () => {
  it('the same object written by R + 5 users under a user-based policy exists as exactly R ciphertexts', async () => {
    const salts = 3;
    const body = seededBytes(99, 4 * mib);
    const first = await stats();
    const users = ['ada', 'brian', 'carol', 'dennis', 'edsger', 'frances', 'grace', 'hedy'];
    expect(users.length).toBe(salts + 5);
    let chunksPerCopy = 0;
    for (const [index, user] of users.entries()) {
      const key = index === 0
        ? JSON.parse(await runCli(['user', 'add', user, '--data', cairn.dataDir])) as { accessKeyId: string; secretAccessKey: string }
        : await adminCall<{ accessKeyId: string; secretAccessKey: string }>(cairn, 'POST', '/users', { name: user });
      const client = s3ClientFor(cairn, key);
      const bucket = `salted-${user}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      if (index === 0) await runCli(['bucket', 'redundancy', bucket, '--salts', String(salts), '--by', 'user', '--data', cairn.dataDir]);
      else await adminCall(cairn, 'PUT', '/redundancy', { bucket, salts: String(salts), by: 'user' });
      const before = await stats();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'popular.bin', Body: body }));
      const after = await stats();
      if (index === 0) chunksPerCopy = after.chunks - before.chunks;
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'popular.bin' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
      client.destroy();
    }
    expect(chunksPerCopy).toBeGreaterThan(10);
    const last = await stats();
    // Eight writers, three salts: exactly three distinct ciphertext copies of every chunk.
    expect(last.chunks - first.chunks).toBe(salts * chunksPerCopy);
  }, 180_000);
});
