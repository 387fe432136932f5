// Contract: a GET streams from buffers the server reuses (the chunk store's read buffers and the
// seal pool's batch buffers, each released once its socket write completed; gateway
// routes/send-pieces.ts). Reuse must never show in the bytes: concurrent GETs, whole and ranged,
// each get exactly their own bytes; clients that hang up mid-body leave the server serving; and a
// chunk damaged on disk answers an S3 error when it is the first, and a cut connection — never
// wrong bytes — when the body has started. Against a real `cairn serve` child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';
import { getSignedUrl } from './helpers/presign.js';
import { codeOf } from './helpers/raw-s3.js';

const mib = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A GET through a presigned URL with node's own http client: status, body, and whether it ended cleanly. */
function rawGet(url: string, range?: string): Promise<{ status: number; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: range === undefined ? {} : { range } }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(pieces), complete: response.complete }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(pieces), complete: false }));
      response.on('aborted', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(pieces), complete: false }));
    });
    request.on('error', reject);
  });
}

async function sdkGet(s3: S3Client, key: string, range?: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'streams', Key: key, Range: range }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('GET streams from reused buffers', () => {
  let cairn: CairnProcess;
  let s3: S3Client;
  const objects = new Map<string, Buffer>();

  beforeAll(async () => {
    cairn = await startCairn();
    s3 = s3ClientFor(cairn);
    await s3.send(new CreateBucketCommand({ Bucket: 'streams' }));
    for (const [key, seed, bytes] of [['a', 1, 12 * mib], ['b', 2, 9 * mib + 12345], ['c', 3, 3 * mib + 7]] as const) {
      const data = seededBytes(seed, bytes);
      objects.set(key, data);
      await s3.send(new PutObjectCommand({ Bucket: 'streams', Key: key, Body: data }));
    }
  });

  afterAll(async () => {
    s3?.destroy();
    await cairn?.stop();
    if (cairn) await removeDataDir(cairn.dataDir);
  });

  it('concurrent whole and ranged GETs each get exactly their own bytes, twice over', async () => {
    for (let round = 0; round < 2; round++) {
      const reads = [...objects].flatMap(([key, data]) => {
        const start = 65_537 * (round + 1);
        const end = data.length - 1000 * (round + 2);
        return [
          sdkGet(s3, key).then((body) => expect(sha256(body), `${key} whole`).toBe(sha256(data))),
          sdkGet(s3, key, `bytes=${start}-${end}`).then((body) => expect(sha256(body), `${key} range`).toBe(sha256(data.subarray(start, end + 1)))),
        ];
      });
      await Promise.all(reads);
    }
  });

  it('clients that hang up mid-body leave the server serving exact bytes', async () => {
    const data = objects.get('a')!;
    for (let attempt = 0; attempt < 8; attempt++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'streams', Key: 'a' }));
      const body = got.Body as Readable;
      let received = 0;
      for await (const piece of body) {
        received += (piece as Buffer).length;
        if (received > (attempt + 1) * 256 * 1024) break; // leaving the loop destroys the stream
      }
      expect(received).toBeLessThan(data.length);
    }
    const [whole, other] = await Promise.all([sdkGet(s3, 'a'), sdkGet(s3, 'b')]);
    expect(sha256(whole)).toBe(sha256(data));
    expect(sha256(other)).toBe(sha256(objects.get('b')!));
    expect(cairn.child.exitCode).toBeNull();
  });
});

describe('a chunk damaged on disk', () => {
  let cairn: CairnProcess;
  let s3: S3Client;

  beforeAll(async () => {
    cairn = await startCairn();
    s3 = s3ClientFor(cairn);
    await s3.send(new CreateBucketCommand({ Bucket: 'streams' }));
  });

  afterAll(async () => {
    s3?.destroy();
    await cairn?.stop();
    if (cairn) await removeDataDir(cairn.dataDir);
  });

  /** The one segment file, and its size; each object below is the only thing appended to it meanwhile. */
  async function segment(): Promise<{ path: string; size: number }> {
    const dir = join(cairn.dataDir, 'chunks');
    const names = (await readdir(dir)).filter((name) => name.endsWith('.seg'));
    expect(names).toHaveLength(1);
    return { path: join(dir, names[0]), size: (await stat(join(dir, names[0]))).size };
  }

  async function flipByte(path: string, at: number): Promise<void> {
    const handle = await open(path, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at);
      byte[0] ^= 0x40;
      await handle.write(byte, 0, 1, at);
    } finally {
      await handle.close();
    }
  }

  it('as the first chunk: an S3 error reply; past the first: a cut connection after a prefix of the true bytes', async () => {
    // One 40 KB object is one chunk: damaging the middle of what it appended damages its only chunk.
    const before = await segment();
    await s3.send(new PutObjectCommand({ Bucket: 'streams', Key: 'single', Body: seededBytes(7, 40_000) }));
    const single = await segment();
    await flipByte(single.path, before.size + ((single.size - before.size) >> 1));
    const refused = await rawGet(await getSignedUrl(cairn, 'GET', 'streams', 'single', 300));
    expect(refused.status).toBe(500);
    expect(codeOf(refused.body.toString())).toBe('InternalError');

    // A 6 MiB object: its chunks are appended in about stream order, so its last record is past
    // the first chunk. The body starts, then stops short of Content-Length; what came is true.
    const data = seededBytes(8, 6 * mib);
    await s3.send(new PutObjectCommand({ Bucket: 'streams', Key: 'many', Body: data }));
    const many = await segment();
    await flipByte(many.path, many.size - 100);
    const cut = await rawGet(await getSignedUrl(cairn, 'GET', 'streams', 'many', 300));
    expect(cut.status).toBe(200);
    expect(cut.complete).toBe(false);
    expect(cut.body.length).toBeGreaterThan(0);
    expect(cut.body.length).toBeLessThan(data.length);
    expect(cut.body.equals(data.subarray(0, cut.body.length))).toBe(true);
    expect(cairn.child.exitCode).toBeNull();
  });
});
