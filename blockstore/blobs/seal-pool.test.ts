// Method: the pool must be a drop-in for dedup's sealChunk / openChunk. Known-answer style: every
// result is compared byte for byte with the in-process function on seeded random chunks of many
// sizes (0 to chunkBytesMax), many jobs at once (so batches, queueing and admission all run),
// corrupt ciphertext and a wrong key (ChunkCorrupt, same class and code), and a worker that
// crashes mid-batch (its jobs reject with SealWorkerFailed, the next jobs run on a replacement).
import { afterAll, describe, expect, it } from 'vitest';
import {
  DedupError, SplitMix32, chunkBytesMax, openChunk, openPagedBlock, sealChunk, sealPagedBlock, volumeBlockBytes,
} from '../../dedup/index.js';
import { BlobError } from './errors.js';
import { sealPoolLimits } from './limits.js';
import { SealPool, openChunkOffThread, openPagedBlockOffThread, sealChunkOffThread, sealPagedBlockOffThread } from './seal-pool.js';

const random = new SplitMix32(0x5ea1);
const salt = random.bytes(32);

describe('seal pool', () => {
  const pool = new SealPool({ workers: 2 });
  afterAll(() => pool.close());

  it('seals and opens byte-identically to sealChunk / openChunk for sizes 0 .. chunkBytesMax', async () => {
    for (const size of [0, 1, 16, 4095, 65_536, 73_001, 262_144, chunkBytesMax]) {
      const plaintext = random.bytes(size);
      const expected = sealChunk(plaintext, salt);
      const sealed = await pool.seal(plaintext, salt);
      expect(sealed.id).toBe(expected.id);
      expect(sealed.key.equals(expected.key)).toBe(true);
      expect(sealed.ciphertext.equals(expected.ciphertext)).toBe(true);
      const opened = await pool.open(expected.ciphertext, expected.key);
      expect(opened.equals(plaintext)).toBe(true);
      expect(opened.equals(openChunk(expected.ciphertext, expected.key))).toBe(true);
    }
  });

  it('the process-wide functions give the same results', async () => {
    const plaintext = random.bytes(70_000);
    const expected = sealChunk(plaintext, salt);
    const sealed = await sealChunkOffThread(plaintext, salt);
    expect([sealed.id, sealed.key.toString('hex'), sealed.ciphertext.equals(expected.ciphertext)])
      .toEqual([expected.id, expected.key.toString('hex'), true]);
    expect((await openChunkOffThread(sealed.ciphertext, sealed.key)).equals(plaintext)).toBe(true);
  });

  it('seals and opens paged volume blocks of both formats byte-identically to sealPagedBlock / openPagedBlock, mixed with whole chunks in one batch', async () => {
    const blocks = [random.bytes(volumeBlockBytes), random.bytes(volumeBlockBytes), random.bytes(volumeBlockBytes)];
    const formats = ['pages16k', 'pages4k', 'pages16k'] as const;
    const whole = random.bytes(70_000);
    const [first, second, third, chunk] = await Promise.all([
      sealPagedBlockOffThread(blocks[0], salt, formats[0]), pool.seal(blocks[1], salt, formats[1]), pool.seal(blocks[2], salt, formats[2]),
      pool.seal(whole, salt)]);
    for (const [at, sealed] of [first, second, third].entries()) {
      const [block, format] = [blocks[at], formats[at]];
      const expected = sealPagedBlock(block, salt, format);
      expect([sealed.id, sealed.key.toString('hex'), sealed.ciphertext.equals(expected.ciphertext)])
        .toEqual([expected.id, expected.key.toString('hex'), true]);
      expect((await openPagedBlockOffThread(sealed.ciphertext, sealed.key, format)).equals(block)).toBe(true);
      expect(openPagedBlock(sealed.ciphertext, sealed.key, format).equals(block)).toBe(true);
    }
    expect(chunk.ciphertext.equals(sealChunk(whole, salt).ciphertext)).toBe(true);
    const flipped = Buffer.from(first.ciphertext);
    flipped[40_000] ^= 4;
    for (const outcome of await Promise.allSettled([pool.open(flipped, first.key, 'pages16k'), pool.open(first.ciphertext.subarray(1), first.key, 'pages16k'),
      pool.open(first.ciphertext, third.key, 'pages16k'), pool.open(second.ciphertext, second.key, 'pages16k')])) {
      expect(outcome.status).toBe('rejected');
      expect(((outcome as PromiseRejectedResult).reason as DedupError).code).toBe('ChunkCorrupt');
    }
  });

  it('rejects tampered ciphertext, a wrong key and impossible lengths with DedupError ChunkCorrupt', async () => {
    const sealed = sealChunk(random.bytes(5000), salt);
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[1234] ^= 0x10;
    const tagFlipped = Buffer.from(sealed.ciphertext);
    tagFlipped[tagFlipped.length - 1] ^= 1;
    const cases = [
      pool.open(flipped, sealed.key),
      pool.open(tagFlipped, sealed.key),
      pool.open(sealed.ciphertext, random.bytes(32)),
      pool.open(Buffer.alloc(15), sealed.key),
      pool.open(Buffer.alloc(chunkBytesMax + 17), sealed.key),
    ];
    for (const outcome of await Promise.allSettled(cases)) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as DedupError;
      expect(reason).toBeInstanceOf(DedupError);
      expect(reason.code).toBe('ChunkCorrupt');
    }
  });

  it('a failing job fails alone: its batch-mates succeed', async () => {
    const good = sealChunk(random.bytes(3000), salt);
    const bad = Buffer.from(good.ciphertext);
    bad[0] ^= 1;
    const outcomes = await Promise.allSettled([pool.open(good.ciphertext, good.key), pool.open(bad, good.key), pool.open(good.ciphertext, good.key)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('runs many concurrent jobs (more than the queue admits) and matches each one', async () => {
    const count = sealPoolLimits.queuedJobsMax * 2 + 37;
    const plaintexts = Array.from({ length: count }, (_, index) => random.bytes(1000 + (index * 7919) % 90_000));
    const sealed = await Promise.all(plaintexts.map((plaintext) => pool.seal(plaintext, salt)));
    sealed.forEach((result, index) => {
      const expected = sealChunk(plaintexts[index], salt);
      expect(result.id).toBe(expected.id);
      expect(result.ciphertext.equals(expected.ciphertext)).toBe(true);
    });
    const opened = await Promise.all(sealed.map((result) => pool.open(result.ciphertext, result.key)));
    opened.forEach((plaintext, index) => expect(plaintext.equals(plaintexts[index])).toBe(true));
  });

  it('reuses a batch buffer only once every leased result in it is released, never one holding an unleased result', async () => {
    const [a, b, c] = [random.bytes(20_000), random.bytes(30_000), random.bytes(25_000)];
    const expectSealed = (result: { ciphertext: Buffer }, plaintext: Buffer) => expect(result.ciphertext.equals(sealChunk(plaintext, salt).ciphertext)).toBe(true);
    // A batch with an unleased job is never reused: its results stay intact through later batches.
    const [leasedA, plainB] = await Promise.all([pool.sealLeased(a, salt), pool.seal(b, salt)]);
    leasedA.release();
    for (let round = 0; round < 4; round++) (await pool.sealLeased(c, salt)).release();
    expectSealed(plainB, b);
    // One of two leased results released: the buffer is still in use, nothing is overwritten.
    const [first, second] = await Promise.all([pool.sealLeased(a, salt), pool.sealLeased(b, salt)]);
    first.release();
    for (let round = 0; round < 4; round++) (await pool.sealLeased(c, salt)).release();
    expectSealed(second.value, b);
    // Both released: the next batch takes that buffer (transferring it detaches the old views).
    second.release();
    const next = await pool.sealLeased(c, salt);
    expect(second.value.ciphertext.length).toBe(0);
    expectSealed(next.value, c);
    expect(() => next.release()).not.toThrow();
    expect(() => next.release()).toThrow(/released once/);
    const expected = sealChunk(c, salt);
    const opened = await pool.openLeased(expected.ciphertext, expected.key);
    expect(opened.value.equals(c)).toBe(true);
    opened.release();
  });

  it('copies its input: mutating the caller\'s buffer after the job settles changes nothing returned', async () => {
    const plaintext = random.bytes(20_000);
    const expected = sealChunk(plaintext, salt);
    const sealed = await pool.seal(plaintext, salt);
    plaintext.fill(0);
    expect(sealed.ciphertext.equals(expected.ciphertext)).toBe(true);
  });
});

describe('seal pool with a crashing worker', () => {
  const pool = new SealPool({ workers: 1, entry: new URL('./seal-worker-crash.test-support.ts', import.meta.url) });
  afterAll(() => pool.close());

  it('rejects the jobs the dead worker held with SealWorkerFailed and serves later jobs on a new worker', async () => {
    const before = random.bytes(10_000);
    expect((await pool.seal(before, salt)).id).toBe(sealChunk(before, salt).id);
    const doomed = Buffer.concat([Buffer.from('crash!'), random.bytes(1000)]);
    const outcome = await pool.seal(doomed, salt).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(BlobError);
    expect((outcome as BlobError).code).toBe('SealWorkerFailed');
    const after = random.bytes(10_000);
    const results = await Promise.all([pool.seal(after, salt), pool.seal(before, salt)]);
    expect(results.map((result) => result.id)).toEqual([sealChunk(after, salt).id, sealChunk(before, salt).id]);
  });
});
