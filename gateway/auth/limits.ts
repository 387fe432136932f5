// Named limits of request authentication (STYLE.md §12). Every loop over client input in
// gateway/auth/ is capped by one of these; relationships are asserted at module load.

import { assert } from '../../dedup/errors.js';

/** SigV4: a request whose x-amz-date is further than this from the server clock is refused
 *  (S3 API Reference, "Authenticating Requests (AWS Signature Version 4)": 15 minutes). */
export const clockSkewMsMax = 15 * 60 * 1000;

/** Presigned URLs: X-Amz-Expires may be at most 7 days ("Authenticating Requests: Using Query
 *  Parameters (AWS Signature Version 4)"). */
export const presignExpiresSecondsMax = 7 * 24 * 60 * 60;

/** Longest Authorization header we parse (a real one is ~250 bytes plus the signed-header list). */
export const authorizationHeaderBytesMax = 8 * 1024;

/** Most entries in SignedHeaders. */
export const signedHeadersCountMax = 64;

/** Most query parameters we canonicalize (S3 requests carry a handful; presign adds six). */
export const queryParametersCountMax = 256;

/** Longest raw query string we canonicalize. */
export const queryBytesMax = 16 * 1024;

/** Longest raw path we canonicalize (S3 keys are ≤ 1024 bytes; percent-encoding triples them). */
export const pathBytesMax = 4 * 1024;

/** aws-chunked: largest declared chunk. Clients use 8 KiB … 8 MiB; data is streamed, never
 *  buffered, so this only bounds how long one chunk signature stays unverified. */
export const awsChunkedChunkBytesMax = 64 * 1024 * 1024;

/** aws-chunked: longest chunk-header or trailer line including CRLF. A signed chunk header is
 *  at most 16 hex digits + ";chunk-signature=" + 64 hex + CRLF = 99 bytes. */
export const awsChunkedLineBytesMax = 4 * 1024;

/** aws-chunked: most trailer lines (S3 sends one checksum plus x-amz-trailer-signature). */
export const awsChunkedTrailersCountMax = 8;

assert(clockSkewMsMax > 0 && presignExpiresSecondsMax > 0, 'auth time limits must be positive');
assert(awsChunkedLineBytesMax >= 99, 'a signed chunk header must fit in one line');
assert(awsChunkedChunkBytesMax >= 8 * 1024, 'S3 chunk minimum (8 KiB) must be allowed');
assert(queryParametersCountMax >= 8, 'presigned URLs need at least their six X-Amz-* parameters');
