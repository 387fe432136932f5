// Several checksums over one stream, and their verification against what the client declared.
// Spec: S3 User Guide, "Checking object integrity" (x-amz-checksum-* are base64 of the digest;
// a mismatch fails the upload with BadDigest); RFC 1864 (Content-MD5 is base64 of the MD5);
// S3 API Reference, "List of error codes" (InvalidDigest for a Content-MD5 that is not a valid
// MD5, BadDigest when it does not match what was received).

import { Transform, type TransformCallback } from 'node:stream';
import { assert } from '../../dedup/errors.js';
import type { RequestHeaders } from '../auth/sigv4-canonical.js';
import { S3Error } from '../s3-errors.js';
import type { RunningCrc } from './crc.js';
import { digesterFor, type ChecksumAlgorithm } from './digesters.js';

export type { ChecksumAlgorithm } from './digesters.js';

/** Digest length in bytes, to validate declared values before the body is read. */
export const checksumBytes: { readonly [Algorithm in ChecksumAlgorithm]: number } = {
  CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32, MD5: 16,
};

/** The x-amz-checksum-* header (and trailer) name for each flexible-checksum algorithm. */
export const checksumHeaderNames = {
  CRC32: 'x-amz-checksum-crc32',
  CRC32C: 'x-amz-checksum-crc32c',
  CRC64NVME: 'x-amz-checksum-crc64nvme',
  SHA1: 'x-amz-checksum-sha1',
  SHA256: 'x-amz-checksum-sha256',
} as const satisfies Partial<Record<ChecksumAlgorithm, string>>;

type FlexibleAlgorithm = keyof typeof checksumHeaderNames;
const flexibleAlgorithms = Object.keys(checksumHeaderNames) as FlexibleAlgorithm[];

/** Declared values, base64, as the client sent them. */
export interface ExpectedChecksums {
  readonly contentMd5?: string;
  readonly checksums?: Readonly<Partial<Record<FlexibleAlgorithm, string>>>;
}

function isBase64Of(value: string, length: number): boolean {
  // Strict base64 (RFC 4648 §4) whose decoded length is the digest length.
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, 'base64').length === length;
}

/**
 * Runs the chosen algorithms over every update(); digest() finishes them once. MD5 is always
 * worth including for PUT: its hex is the object's ETag.
 */
export class ChecksumSet {
  private readonly digesters = new Map<ChecksumAlgorithm, RunningCrc>();
  private results: Map<ChecksumAlgorithm, Buffer> | undefined;

  constructor(algorithms: Iterable<ChecksumAlgorithm>) {
    for (const algorithm of algorithms) this.digesters.set(algorithm, digesterFor(algorithm));
  }

  get algorithms(): ChecksumAlgorithm[] {
    return [...this.digesters.keys()];
  }

  update(data: Uint8Array): void {
    assert(this.results === undefined, 'ChecksumSet.update after digest');
    for (const digester of this.digesters.values()) digester.update(data);
  }

  /** Digest bytes per algorithm; idempotent after the first call. */
  digest(): ReadonlyMap<ChecksumAlgorithm, Buffer> {
    if (this.results === undefined) {
      this.results = new Map();
      for (const [algorithm, digester] of this.digesters) this.results.set(algorithm, digester.digest());
    }
    return this.results;
  }

  base64(algorithm: ChecksumAlgorithm): string {
    return digestBase64(this.digest(), algorithm);
  }

  hex(algorithm: ChecksumAlgorithm): string {
    return Buffer.from(this.base64(algorithm), 'base64').toString('hex');
  }

  /** Throws BadDigest when a declared value differs from what was received. Values must have
   *  been validated (expectedChecksumsFromHeaders) and computed by this set. */
  verify(expected: ExpectedChecksums): void {
    verifyDigests(this.digest(), expected);
  }
}

/** A computed digest in S3's base64 form; the algorithm must be one that was computed. */
export function digestBase64(digests: ReadonlyMap<ChecksumAlgorithm, Buffer>, algorithm: ChecksumAlgorithm): string {
  const value = digests.get(algorithm);
  assert(value !== undefined, `digest ${algorithm} was not computed`);
  return value.toString('base64');
}

/** verify() for digests computed elsewhere (the digest worker): BadDigest on any mismatch. */
export function verifyDigests(digests: ReadonlyMap<ChecksumAlgorithm, Buffer>, expected: ExpectedChecksums): void {
  if (expected.contentMd5 !== undefined && digestBase64(digests, 'MD5') !== expected.contentMd5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      extra: { ExpectedDigest: expected.contentMd5, CalculatedDigest: digestBase64(digests, 'MD5') },
    });
  }
  for (const algorithm of flexibleAlgorithms) {
    const declared = expected.checksums?.[algorithm];
    if (declared === undefined) continue;
    if (digestBase64(digests, algorithm) !== declared) {
      throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
  }
}

/** Algorithms a set must compute for this request: MD5 (the ETag) plus every x-amz-checksum-*
 *  sent as a header or announced in x-amz-trailer (its value arrives after the body). */
export function algorithmsForHeaders(headers: RequestHeaders): ChecksumAlgorithm[] {
  const trailerValue = headers['x-amz-trailer'];
  const announced = (typeof trailerValue === 'string' ? trailerValue : (trailerValue ?? []).join(','))
    .split(',').map((name) => name.trim().toLowerCase());
  const algorithms: ChecksumAlgorithm[] = ['MD5'];
  for (const algorithm of flexibleAlgorithms) {
    const name = checksumHeaderNames[algorithm];
    if (headers[name] !== undefined || announced.includes(name)) algorithms.push(algorithm);
  }
  return algorithms;
}

function firstValue(source: RequestHeaders | ReadonlyMap<string, string>, name: string): string | undefined {
  const value = source instanceof Map ? source.get(name) : (source as RequestHeaders)[name];
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? value : value[0] ?? '').trim();
}

/**
 * Declared checksums from request headers (and, for aws-chunked uploads, the decoder's
 * trailers), validated: a malformed Content-MD5 is InvalidDigest; a malformed x-amz-checksum-*
 * is InvalidRequest, as S3 answers; S3 accepts at most one x-amz-checksum-* per request.
 */
export function expectedChecksumsFromHeaders(headers: RequestHeaders, trailers?: ReadonlyMap<string, string>): ExpectedChecksums {
  const contentMd5 = firstValue(headers, 'content-md5');
  if (contentMd5 !== undefined && !isBase64Of(contentMd5, 16)) {
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }
  const checksums: Partial<Record<FlexibleAlgorithm, string>> = {};
  for (const algorithm of flexibleAlgorithms) {
    const name = checksumHeaderNames[algorithm];
    const value = firstValue(headers, name) ?? (trailers ? firstValue(trailers, name) : undefined);
    if (value === undefined) continue;
    if (!isBase64Of(value, checksumBytes[algorithm])) throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
    checksums[algorithm] = value;
  }
  if (Object.keys(checksums).length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  return { ...(contentMd5 === undefined ? {} : { contentMd5 }), checksums };
}

/**
 * Passes bytes through a ChecksumSet; at the end calls `expected()` (so trailers that arrive
 * with the last byte count) and verifies. Read results from `set` after 'finish'.
 */
export class ChecksumStream extends Transform {
  readonly set: ChecksumSet;
  private readonly expected: () => ExpectedChecksums;

  constructor(algorithms: Iterable<ChecksumAlgorithm>, expected: () => ExpectedChecksums) {
    super();
    this.set = new ChecksumSet(algorithms);
    this.expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.set.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.set.verify(this.expected());
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** S3's composite checksum of a multipart object: the checksum of the parts' raw checksums. */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksums: readonly Buffer[]): string {
  const set = new ChecksumSet([algorithm]);
  for (const value of partChecksums) set.update(value);
  return set.base64(algorithm);
}
