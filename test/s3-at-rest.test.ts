// Contract: data at rest is ciphertext. Method: write random plaintext markers through S3
// (single PUT, multipart, copy), stop the node, and scan every file of the data directory for
// them; secrets must be files of mode 0600.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';

let cairn: CairnProcess;

beforeAll(async () => { cairn = await startCairn(); });
afterAll(async () => {
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

it('finds none of the plaintext markers written through S3 anywhere in the data directory', async () => {
  const s3 = s3ClientFor(cairn);
  const markers = Array.from({ length: 8 }, () => randomBytes(24).toString('hex'));
  const withMarkers = (seed: number, size: number, marker: string) => {
    const body = seededBytes(seed, size);
    for (let at = 0; at + marker.length < size; at += 4096) body.write(marker, at, 'latin1');
    return body;
  };
  await s3.send(new CreateBucketCommand({ Bucket: 'rest' }));
  await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'small', Body: Buffer.from(`tiny ${markers[0]} object`) }));
  await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'large', Body: withMarkers(1, 3 * 1024 * 1024, markers[1]) }));
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'rest', Key: 'multi' }));
  const part1 = await s3.send(new UploadPartCommand({ Bucket: 'rest', Key: 'multi', UploadId: upload.UploadId, PartNumber: 1, Body: withMarkers(2, 5 * 1024 * 1024, markers[2]) }));
  const part2 = await s3.send(new UploadPartCommand({ Bucket: 'rest', Key: 'multi', UploadId: upload.UploadId, PartNumber: 2, Body: withMarkers(3, 100_000, markers[3]) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'rest', Key: 'multi', UploadId: upload.UploadId,
    MultipartUpload: { Parts: [{ ETag: part1.ETag, PartNumber: 1 }, { ETag: part2.ETag, PartNumber: 2 }] } }));
  const pending = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'rest', Key: 'pending' }));
  await s3.send(new UploadPartCommand({ Bucket: 'rest', Key: 'pending', UploadId: pending.UploadId, PartNumber: 1, Body: withMarkers(4, 70_000, markers[4]) }));
  await s3.send(new CopyObjectCommand({ Bucket: 'rest', Key: 'copy', CopySource: 'rest/large' }));
  s3.destroy();
  await cairn.stop();

  const needles = markers.slice(0, 5).map((marker) => Buffer.from(marker, 'latin1'));
  let scanned = 0;
  for await (const path of filesUnder(cairn.dataDir)) {
    const content = await readFile(path);
    scanned += content.length;
    for (const needle of needles) expect(content.includes(needle), `plaintext marker found in ${path}`).toBe(false);
  }
  expect(scanned).toBeGreaterThan(8 * 1024 * 1024);
  for (const secret of ['master.key', 'salt-secret.sealed', 'root-credentials.json']) {
    expect((await stat(join(cairn.dataDir, secret))).mode & 0o777, secret).toBe(0o600);
  }
}, 120_000);
