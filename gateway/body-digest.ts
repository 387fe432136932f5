// The integrity checks of an uploaded body: Content-MD5 (also the ETag), and the flexible
// checksums x-amz-checksum-* sent as headers or as aws-chunked trailers (S3 User Guide,
// "Checking object integrity"). A mismatch throws before anything becomes visible.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { S3Error } from './s3-errors.js';
import { ChecksumSet, algorithmsForHeaders, expectedChecksumsFromHeaders } from './checksums/checksum-set.js';
import type { RequestHeaders } from './auth/sigv4-canonical.js';
import type { BodyDigest } from './service/objects.js';
import type { ChecksumValue } from './service/records.js';
import { header } from './routes/context.js';

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

/** MD5 only (UploadPartCopy, internal copies). */
export function md5Digest(): BodyDigest {
  const md5 = createHash('md5');
  return { update: (piece) => { md5.update(piece); }, finish: () => ({ md5Hex: md5.digest('hex') }) };
}

/**
 * Builds the digest for a request. `trailers` is read at finish(), after the body has been
 * decoded, because aws-chunked bodies carry their checksum after the data.
 * `alwaysCompute` is the upload's algorithm for parts of a multipart upload that has one.
 */
export function requestDigest(request: FastifyRequest, trailers: () => ReadonlyMap<string, string>, alwaysCompute?: ChecksumValue['algorithm']): BodyDigest {
  const headers = request.headers as RequestHeaders;
  expectedChecksumsFromHeaders(headers); // malformed declared values fail before the body is read
  const requested = checksumAlgorithmOf(header(request, 'x-amz-sdk-checksum-algorithm'));
  const chosen = algorithmsForHeaders(headers).filter((name) => name !== 'MD5') as ChecksumValue['algorithm'][];
  const algorithm = chosen[0] ?? requested ?? alwaysCompute;
  const set = new ChecksumSet(algorithm ? ['MD5', algorithm] : ['MD5']);
  return {
    update: (piece) => set.update(piece),
    finish() {
      set.verify(expectedChecksumsFromHeaders(headers, trailers()));
      const result: ReturnType<BodyDigest['finish']> = { md5Hex: set.hex('MD5') };
      if (algorithm) result.checksum = { algorithm, value: set.base64(algorithm), type: 'FULL_OBJECT' };
      return result;
    },
  };
}
