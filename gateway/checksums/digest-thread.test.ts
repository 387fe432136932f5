// Method: OffThreadChecksumSet against the in-thread ChecksumSet (itself checked against the
// catalogue and the SDK in checksums.test.ts) for every algorithm, over sizes around the staging
// buffer and random piece splits, with many bodies interleaved on the one worker; then the
// bounds (a writer that does not await is told to wait after buffersInFlightPerBody buffers),
// abandon, and a worker that crashes mid-body (InternalError, then a replacement serves).
import { afterAll, describe, expect, it } from 'vitest';
import { S3Error } from '../s3-errors.js';
import { digestLimits } from '../limits.js';
import { prng } from '../seeded-random.test-support.js';
import { ChecksumSet, type ChecksumAlgorithm } from './checksum-set.js';
import { DigestThread, OffThreadChecksumSet } from './digest-thread.js';

const everyAlgorithm: ChecksumAlgorithm[] = ['MD5', 'CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const staging = digestLimits.stagingBytes;

function seeded(seed: number, length: number): Buffer {
  const random = prng(seed);
  const out = Buffer.allocUnsafe(length);
  for (let index = 0; index < length; index++) out[index] = Math.floor(random() * 256);
  return out;
}

function splits(seed: number, data: Buffer): Buffer[] {
  const random = prng(seed);
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const size = 1 + Math.floor(random() * 100_000);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function hex(digests: ReadonlyMap<ChecksumAlgorithm, Buffer>): Record<string, string> {
  return Object.fromEntries([...digests].map(([algorithm, value]) => [algorithm, value.toString('hex')]));
}

describe('OffThreadChecksumSet', () => {
  const thread = new DigestThread();
  afterAll(() => thread.close());

  it('equals ChecksumSet for every algorithm, for sizes around the staging buffer, many bodies interleaved', async () => {
    const sizes = [0, 1, staging - 1, staging, staging + 1, 3 * staging + 12_345, 2 * 1024 * 1024];
    const bodies = sizes.map((size, index) => ({ data: seeded(index + 1, size), set: new OffThreadChecksumSet(everyAlgorithm, thread) }));
    const pieces = bodies.map(({ data }, index) => splits(100 + index, data));
    for (let round = 0; pieces.some((list) => round < list.length); round++) {
      for (const [index, list] of pieces.entries()) if (round < list.length) await bodies[index].set.update(list[round]);
    }
    const results = await Promise.all(bodies.map(({ set }) => set.digest()));
    for (const [index, { data }] of bodies.entries()) {
      const expected = new ChecksumSet(everyAlgorithm);
      expected.update(data);
      expect(hex(results[index]), `size ${sizes[index]}`).toEqual(hex(expected.digest()));
    }
  });

  it('copies what it is given: the caller may overwrite a piece as soon as update returns', async () => {
    const data = seeded(7, staging + 5000);
    const set = new OffThreadChecksumSet(['MD5'], thread);
    const piece = Buffer.from(data.subarray(0, 4000));
    for (let at = 0; at < data.length; at += 4000) {
      data.copy(piece, 0, at, Math.min(at + 4000, data.length));
      await set.update(piece.subarray(0, Math.min(4000, data.length - at)));
      piece.fill(0xee);
    }
    const expected = new ChecksumSet(['MD5']);
    expected.update(data);
    expect(hex(await set.digest())).toEqual(hex(expected.digest()));
  });

  it('tells a writer to wait once buffersInFlightPerBody staging buffers are at the worker', async () => {
    const set = new OffThreadChecksumSet(['MD5'], thread);
    const piece = seeded(8, staging);
    // Without awaiting, no reply can arrive: the count is exact.
    for (let sent = 1; sent < digestLimits.buffersInFlightPerBody; sent++) expect(set.update(piece)).toBeUndefined();
    const wait = set.update(piece);
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    const expected = new ChecksumSet(['MD5']);
    for (let sent = 0; sent < digestLimits.buffersInFlightPerBody; sent++) expected.update(piece);
    expect(hex(await set.digest())).toEqual(hex(expected.digest()));
  });

  it('a set never fed holds no session: more of them than sessionsMax leave the worker serving', async () => {
    // A request refused after its digest was built (bad key, header) never abandons it.
    for (let index = 0; index <= digestLimits.sessionsMax; index++) new OffThreadChecksumSet(['MD5'], thread);
    const set = new OffThreadChecksumSet(['MD5'], thread);
    const data = seeded(13, staging + 1);
    await set.update(data);
    const expected = new ChecksumSet(['MD5']);
    expected.update(data);
    expect(hex(await set.digest())).toEqual(hex(expected.digest()));
  });

  it('abandon forgets a body (idempotent); other bodies are unaffected', async () => {
    const kept = new OffThreadChecksumSet(['CRC32'], thread);
    const dropped = new OffThreadChecksumSet(['CRC32'], thread);
    const data = seeded(9, 3 * staging);
    await dropped.update(data.subarray(0, 2 * staging));
    await kept.update(data);
    dropped.abandon();
    dropped.abandon();
    const expected = new ChecksumSet(['CRC32']);
    expected.update(data);
    expect(hex(await kept.digest())).toEqual(hex(expected.digest()));
  });
});

describe('OffThreadChecksumSet with a crashing digest worker', () => {
  const thread = new DigestThread(new URL('./digest-worker-crash.test-support.ts', import.meta.url));
  afterAll(() => thread.close());

  it('fails the bodies in progress with InternalError and serves later bodies on a new worker', async () => {
    const bystander = new OffThreadChecksumSet(['MD5'], thread);
    await bystander.update(seeded(10, staging + 1));
    const doomed = new OffThreadChecksumSet(['MD5'], thread);
    // The body's last staging buffer holds crashLength bytes: the worker dies on it.
    const outcome = await (async () => {
      await doomed.update(seeded(11, staging + 12_345));
      return doomed.digest();
    })().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(S3Error);
    expect((outcome as S3Error).code).toBe('InternalError');
    const bystanderOutcome = await bystander.digest().catch((error: unknown) => error);
    expect((bystanderOutcome as S3Error).code).toBe('InternalError');
    const after = new OffThreadChecksumSet(['MD5'], thread);
    const data = seeded(12, 2 * staging);
    await after.update(data);
    const expected = new ChecksumSet(['MD5']);
    expected.update(data);
    expect(hex(await after.digest())).toEqual(hex(expected.digest()));
  });
});
