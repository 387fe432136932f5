// The integrity checks of an uploaded body: Content-MD5 (also the ETag), and the flexible
// checksums x-amz-checksum-* sent as headers or as aws-chunked trailers (S3 User Guide,
// "Checking object integrity"). A mismatch throws before anything becomes visible.
import type { FastifyRequest } from 'fastify';
import { S3Error } from './s3-errors.js';
import { ChecksumSet, algorithmsForHeaders, expectedChecksumsFromHeaders, verifyDigests, digestBase64, type ChecksumAlgorithm, type ExpectedChecksums } from './checksums/checksum-set.js';
import { OffThreadChecksumSet } from './checksums/digest-thread.js';
import type { RequestHeaders } from './auth/sigv4-canonical.js';
import type { BodyDigest, DigestResult } from './service/objects.js';
import type { ChecksumValue } from './service/records.js';
import { header } from './routes/context.js';
import { digestLimits } from './limits.js';

const algorithms: readonly ChecksumValue['algorithm'][] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

export function checksumHeaderName(algorithm: ChecksumValue['algorithm']): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export function checksumAlgorithmOf(value: string | undefined): ChecksumValue['algorithm'] | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase() as ChecksumValue['algorithm'];
  if (!algorithms.includes(upper)) {
    throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
  }
  return upper;
}

/**
 * A BodyDigest over `algorithms` for a body of `length` bytes: hashed on the digest worker when
 * the body is large (digestLimits.offThreadBytesMin), inline otherwise. `expected` is read at
 * finish() and its values verified; `result` builds the answer from the digests.
 */
function bodyDigest(algorithms: ChecksumAlgorithm[], length: number, expected: () => ExpectedChecksums,
  result: (digests: ReadonlyMap<ChecksumAlgorithm, Buffer>) => DigestResult): BodyDigest {
  const set = length >= digestLimits.offThreadBytesMin ? new OffThreadChecksumSet(algorithms) : new ChecksumSet(algorithms);
  return {
    update: (piece) => set.update(piece),
    async finish() {
      const digests = await set.digest();
      verifyDigests(digests, expected());
      return result(digests);
    },
    abandon: () => { if (set instanceof OffThreadChecksumSet) set.abandon(); },
  };
}

/** MD5 only (UploadPartCopy, internal copies) of a body of `length` bytes. */
export function md5Digest(length: number): BodyDigest {
  return bodyDigest(['MD5'], length, () => ({}), (digests) => ({ md5Hex: digests.get('MD5')!.toString('hex') }));
}

/**
 * Builds the digest for a request whose body is `length` bytes. `trailers` is read at finish(),
 * after the body has been decoded, because aws-chunked bodies carry their checksum after the
 * data. `alwaysCompute` is the upload's algorithm for parts of a multipart upload that has one.
 */
export function requestDigest(request: FastifyRequest, trailers: () => ReadonlyMap<string, string>, length: number, alwaysCompute?: ChecksumValue['algorithm']): BodyDigest {
  const headers = request.headers as RequestHeaders;
  expectedChecksumsFromHeaders(headers); // malformed declared values fail before the body is read
  const requested = checksumAlgorithmOf(header(request, 'x-amz-sdk-checksum-algorithm'));
  const chosen = algorithmsForHeaders(headers).filter((name) => name !== 'MD5') as ChecksumValue['algorithm'][];
  const algorithm = chosen[0] ?? requested ?? alwaysCompute;
  return bodyDigest(algorithm ? ['MD5', algorithm] : ['MD5'], length, () => expectedChecksumsFromHeaders(headers, trailers()), (digests) => {
    const result: DigestResult = { md5Hex: digests.get('MD5')!.toString('hex') };
    if (algorithm) result.checksum = { algorithm, value: digestBase64(digests, algorithm), type: 'FULL_OBJECT' };
    return result;
  });
}
