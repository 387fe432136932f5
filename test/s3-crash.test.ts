// Contract: data acknowledged to an S3 client survives kill -9 at any instant, and nothing
// unacknowledged is half-visible. Method: 20 rounds of 32 concurrent PUT loops (new keys and
// overwrites) against a real `cairn serve`, SIGKILL at a seeded random instant, restart, and
// check every key against the versions sent; then scrub, and GC reclaims every orphan.
import { afterAll, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, CreateBucketCommand, S3Client, NoSuchKey } from '@aws-sdk/client-s3';
import { makeDataDir, removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor, seededBytes } from './helpers/s3-client.js';
import { adminCall } from './helpers/admin.js';
import { prng } from '../gateway/seeded-random.test-support.js';

const rounds = 20;
const clients = 32;
const seed = 20261130;
let dataDir: string | undefined;
let cairn: CairnProcess | undefined;

afterAll(async () => {
  await cairn?.stop();
  if (dataDir) await removeDataDir(dataDir);
});


interface KeyHistory { sent: string[]; lastAcked: number }

const bodyFor = (key: string, version: number, size: number) => seededBytes(hashSeed(`${key}#${version}`), size);
const hashSeed = (text: string) => createHash('sha256').update(text).digest().readUInt32LE(0);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const ackedPuts = { count: 0 };

async function putLoop(s3: S3Client, client: number, round: number, random: () => number, history: Map<string, KeyHistory>, stop: { stopped: boolean }) {
  for (let i = 0; !stop.stopped && i < 10_000; i++) {
    // Half the PUTs overwrite one of four keys per client: atomic replacement is tested too.
    const key = random() < 0.5 ? `c${client}/hot${i % 4}` : `r${round}/c${client}/n${i}`;
    const entry = history.get(key) ?? { sent: [], lastAcked: -1 };
    history.set(key, entry);
    const version = entry.sent.length;
    const body = bodyFor(key, version, 1 + Math.floor(random() * 300_000));
    entry.sent.push(sha(body));
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: body }));
      entry.lastAcked = Math.max(entry.lastAcked, version);
      ackedPuts.count++;
    } catch {
      return; // the server died under us: this PUT was never acknowledged
    }
  }
}

async function verify(s3: S3Client, history: Map<string, KeyHistory>): Promise<void> {
  for (const [key, entry] of history) {
    let seen: string | undefined;
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'crash', Key: key }));
      seen = sha(await got.Body!.transformToByteArray());
    } catch (error) {
      if (!(error instanceof NoSuchKey)) throw error;
    }
    if (entry.lastAcked >= 0) {
      expect(seen, `acknowledged ${key} lost`).toBeDefined();
    }
    if (seen !== undefined) {
      const version = entry.sent.indexOf(seen);
      expect(version, `${key} holds bytes that were never sent whole`).toBeGreaterThanOrEqual(0);
      expect(version, `${key} went back past an acknowledged version`).toBeGreaterThanOrEqual(entry.lastAcked);
      // What is visible now is what later rounds build on.
      entry.sent = entry.sent.slice(0, version + 1);
      entry.lastAcked = version;
    } else {
      entry.sent = [];
      entry.lastAcked = -1;
    }
  }
}

it(`survives ${rounds} rounds of kill -9 during ${clients} concurrent PUTs`, async () => {
  dataDir = await makeDataDir();
  const random = prng(seed);
  const history = new Map<string, KeyHistory>();
  cairn = await startCairn({ dataDir });
  let s3 = s3ClientFor(cairn);
  await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
  for (let round = 0; round < rounds; round++) {
    const stop = { stopped: false };
    const loops = Array.from({ length: clients }, (_, client) => putLoop(s3, client, round, prng(seed + round * 1000 + client), history, stop));
    const before = ackedPuts.count;
    // Kill at a seeded instant once this round's PUTs are flowing (the first ack proves it).
    for (let waited = 0; ackedPuts.count === before && waited < 30_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 800)));
    await cairn.kill();
    stop.stopped = true;
    await Promise.all(loops);
    s3.destroy();
    cairn = await startCairn({ dataDir });
    s3 = s3ClientFor(cairn);
    await verify(s3, history);
  }
  // The kills must land in the middle of real work, not before it started.
  expect(ackedPuts.count).toBeGreaterThan(rounds * 4);
  const scrub = await adminCall<{ corrupt: string[]; missing: string[]; chunksChecked: number }>(cairn, 'POST', '/scrub');
  expect(scrub.corrupt).toEqual([]);
  expect(scrub.missing).toEqual([]);
  // Every object gone and GC run: nothing may remain, so the orphans of killed PUTs were reclaimed.
  for (const key of history.keys()) await s3.send(new DeleteObjectCommand({ Bucket: 'crash', Key: key }));
  await adminCall(cairn, 'POST', '/gc');
  const stats = await adminCall<{ chunks: number; liveBytes: number }>(cairn, 'GET', '/stats');
  expect(stats.chunks).toBe(0);
  s3.destroy();
}, 400_000);
