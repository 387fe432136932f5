// Server-side verification of AWS Signature Version 4 (header and presigned forms).
// Pure: the clock is `request.now`, secrets come from `options.credentials`; nothing here reads
// the body — the returned `payload` tells the caller how to check it.
// Spec: S3 API Reference, "Authenticating Requests (AWS Signature Version 4)" and its pages on
// the Authorization header, query parameters and chunked upload; IAM User Guide, "Signature
// Version 4 signing process".

import { assert } from '../../dedup/errors.js';
import { S3Error } from '../s3-errors.js';
import { clockSkewMsMax } from './limits.js';
import {
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  deriveSigningKey,
  hmacSha256,
  type SigningKeyCache,
  parseQuery,
  signaturesEqual,
  stringToSign,
  type QueryParameter,
  type RequestHeaders,
} from './sigv4-canonical.js';
import { formatAmzDate, parseAmzDate, parseAuthorizationHeader, parsePresignedQuery, type ParsedSigV4 } from './sigv4-parse.js';

export interface SigV4Request {
  readonly method: string;
  /** Raw path as on the wire (still percent-encoded), without the query. */
  readonly path: string;
  /** Raw query string without the leading '?'. */
  readonly query: string;
  /** Lowercase header names. */
  readonly headers: RequestHeaders;
  readonly now: Date;
  /** Hex SHA-256 of the body, for services whose clients send no x-amz-content-sha256
   *  (Lambda): the caller buffers the (small, bounded) body and hashes it. Ignored for S3. */
  readonly bodySha256Hex?: string;
}

export interface SigV4Credentials {
  readonly secretAccessKey: string;
  readonly userId: string;
}

export type CredentialsLookup = (accessKeyId: string) => SigV4Credentials | undefined;

export interface SigV4Options {
  /** Credential-scope service this door answers for: 's3' or 'lambda'. */
  readonly service: string;
  /** Region check: a name that must match exactly, or a predicate. */
  readonly region: string | ((region: string) => boolean);
  readonly credentials: CredentialsLookup;
  /** Reuses signing keys across requests (derived per request without it). */
  readonly signingKeys?: SigningKeyCache;
}

export type PayloadMode =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'sha256'; readonly hex: string }
  | {
      readonly kind: 'streaming-signed';
      readonly seedSignature: string;
      readonly signingKey: Buffer;
      readonly scope: string;
      readonly amzDate: string;
      readonly trailer: boolean;
    }
  | { readonly kind: 'streaming-unsigned-trailer' };

export interface SigV4Result {
  readonly userId: string;
  readonly accessKeyId: string;
  readonly form: 'header' | 'presigned';
  readonly payload: PayloadMode;
}

export type AuthForm = 'header' | 'presigned' | 'anonymous';

function headerText(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(',');
}

/** Which authentication the request attempts; both at once is an error (S3 answers InvalidArgument). */
export function detectAuthForm(query: readonly QueryParameter[], headers: RequestHeaders): AuthForm {
  const hasHeader = headers['authorization'] !== undefined;
  const hasQuery = query.some((parameter) => parameter.name === 'X-Amz-Algorithm' || parameter.name === 'X-Amz-Signature');
  if (hasHeader && hasQuery) {
    throw new S3Error('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified', { extra: { ArgumentName: 'Authorization' } });
  }
  return hasHeader ? 'header' : hasQuery ? 'presigned' : 'anonymous';
}

// x-amz-content-sha256 values: S3 API Reference, "Authenticating Requests: Using the
// Authorization Header", table "x-amz-content-sha256".
const streamingSigned = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const streamingSignedTrailer = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const streamingUnsignedTrailer = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const unsignedPayload = 'UNSIGNED-PAYLOAD';

function payloadHashFor(request: SigV4Request, query: readonly QueryParameter[], parsed: ParsedSigV4, options: SigV4Options): string {
  let declared = headerText(request.headers, 'x-amz-content-sha256');
  if (parsed.form === 'presigned') {
    // Presigned URLs sign UNSIGNED-PAYLOAD unless the client sent a content hash, as a header or
    // hoisted into the query (the SDK's S3 presigner sends X-Amz-Content-Sha256=UNSIGNED-PAYLOAD).
    declared ??= query.find((parameter) => parameter.name.toLowerCase() === 'x-amz-content-sha256')?.value;
    if (declared === undefined) return unsignedPayload;
    if (declared === unsignedPayload || /^[0-9a-fA-F]{64}$/.test(declared)) return declared;
    throw new S3Error('InvalidRequest', 'Presigned requests cannot use streaming payloads.');
  }
  if (declared !== undefined) return declared;
  if (options.service === 's3') {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  assert(request.bodySha256Hex !== undefined, 'SigV4 for a service without x-amz-content-sha256 needs bodySha256Hex');
  return request.bodySha256Hex;
}

function checkScope(parsed: ParsedSigV4, options: SigV4Options): void {
  const code = parsed.form === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  const { region, service, date } = parsed.credential;
  const regionAccepted = typeof options.region === 'string' ? region === options.region : options.region(region);
  if (!regionAccepted) {
    const expecting = typeof options.region === 'string' ? `; expecting '${options.region}'` : '';
    throw new S3Error(code, `The authorization header is malformed; the region '${region}' is wrong${expecting}`, {
      extra: typeof options.region === 'string' ? { Region: options.region } : {},
    });
  }
  if (service !== options.service) {
    throw new S3Error(code, `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "${options.service}".`);
  }
  if (date !== parsed.amzDate.slice(0, 8)) {
    throw new S3Error(code, `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${parsed.amzDate.slice(0, 8)}".`);
  }
}

function checkTime(parsed: ParsedSigV4, now: Date): void {
  const skewMs = parsed.time.getTime() - now.getTime();
  const serverTime = now.toISOString();
  if (parsed.form === 'header') {
    if (Math.abs(skewMs) > clockSkewMsMax) {
      throw new S3Error('RequestTimeTooSkewed', undefined, {
        extra: { RequestTime: parsed.amzDate, ServerTime: serverTime, MaxAllowedSkewMilliseconds: String(clockSkewMsMax) },
      });
    }
    return;
  }
  assert(parsed.expiresSeconds !== undefined, 'presigned parse yields X-Amz-Expires');
  if (skewMs > clockSkewMsMax) throw new S3Error('AccessDenied', 'Request is not valid yet');
  const expiresAt = new Date(parsed.time.getTime() + parsed.expiresSeconds * 1000);
  if (now.getTime() > expiresAt.getTime()) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      extra: { 'X-Amz-Expires': String(parsed.expiresSeconds), Expires: expiresAt.toISOString(), ServerTime: serverTime },
    });
  }
}

function parseHeaderForm(request: SigV4Request): ParsedSigV4 {
  const authorization = headerText(request.headers, 'authorization');
  assert(authorization !== undefined, 'header form requires an Authorization header');
  const parsed = parseAuthorizationHeader(authorization);
  // The timestamp is x-amz-date, or the Date header when that is absent (spec: "Handling
  // dates in Signature Version 4"); either way it is signed as ISO 8601 basic.
  const amzDateHeader = headerText(request.headers, 'x-amz-date');
  let time: Date | undefined;
  if (amzDateHeader !== undefined) {
    time = parseAmzDate(amzDateHeader.trim());
  } else {
    const dateHeader = headerText(request.headers, 'date');
    const parsedMs = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader);
    time = Number.isNaN(parsedMs) ? undefined : new Date(parsedMs);
  }
  if (time === undefined) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  return { ...parsed, amzDate: formatAmzDate(time), time };
}

// Every x-amz-* header present must be signed, or a proxy could add x-amz-copy-source or
// metadata unseen (S3 answers AccessDenied "There were headers present in the request which
// were not signed", with HeadersNotSigned).
function checkAmzHeadersSigned(headers: RequestHeaders, signedHeaders: readonly string[]): void {
  const unsigned = Object.keys(headers).filter(
    (name) => name.startsWith('x-amz-') && headers[name] !== undefined && !signedHeaders.includes(name),
  );
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      extra: { HeadersNotSigned: unsigned.sort().join(', ') },
    });
  }
}

/**
 * Verifies a SigV4-signed request. Returns who signed it and how the body must be checked;
 * throws S3Error (AccessDenied for anonymous requests — callers allowing anonymous access
 * check detectAuthForm first).
 */
export function verifySigV4(request: SigV4Request, options: SigV4Options): SigV4Result {
  const query = parseQuery(request.query);
  const form = detectAuthForm(query, request.headers);
  if (form === 'anonymous') throw new S3Error('AccessDenied', 'Access Denied');
  const parsed = form === 'header' ? parseHeaderForm(request) : parsePresignedQuery(query);
  checkScope(parsed, options);
  checkTime(parsed, request.now);
  checkAmzHeadersSigned(request.headers, parsed.signedHeaders);
  const credentials = options.credentials(parsed.credential.accessKeyId);
  if (credentials === undefined) {
    throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: parsed.credential.accessKeyId } });
  }
  const payloadHash = payloadHashFor(request, query, parsed, options);
  const canonical = canonicalRequest({
    method: request.method.toUpperCase(),
    canonicalUri: canonicalUri(request.path),
    canonicalQuery: canonicalQueryString(query, parsed.form === 'presigned' ? 'X-Amz-Signature' : undefined),
    canonicalHeaders: canonicalHeaders(request.headers, parsed.signedHeaders),
    signedHeaders: parsed.signedHeaders,
    payloadHash,
  });
  const { date, region, service } = parsed.credential;
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = stringToSign(parsed.amzDate, scope, canonical);
  const signingKey = options.signingKeys ? options.signingKeys.derive(credentials.secretAccessKey, date, region, service) : deriveSigningKey(credentials.secretAccessKey, date, region, service);
  const expected = hmacSha256(signingKey, toSign).toString('hex');
  if (!signaturesEqual(expected, parsed.signature)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      extra: { AWSAccessKeyId: parsed.credential.accessKeyId, StringToSign: toSign, CanonicalRequest: canonical },
    });
  }
  return {
    userId: credentials.userId,
    accessKeyId: parsed.credential.accessKeyId,
    form: parsed.form,
    payload: classifyPayload(payloadHash, { seedSignature: expected, signingKey, scope, amzDate: parsed.amzDate }),
  };
}

interface StreamingContext {
  readonly seedSignature: string;
  readonly signingKey: Buffer;
  readonly scope: string;
  readonly amzDate: string;
}

function classifyPayload(payloadHash: string, context: StreamingContext): PayloadMode {
  if (payloadHash === unsignedPayload) return { kind: 'unsigned' };
  if (payloadHash === streamingSigned) return { kind: 'streaming-signed', ...context, trailer: false };
  if (payloadHash === streamingSignedTrailer) return { kind: 'streaming-signed', ...context, trailer: true };
  if (payloadHash === streamingUnsignedTrailer) return { kind: 'streaming-unsigned-trailer' };
  if (/^[0-9a-fA-F]{64}$/.test(payloadHash)) return { kind: 'sha256', hex: payloadHash.toLowerCase() };
  if (payloadHash.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw new S3Error('NotImplemented', 'SigV4a (ECDSA) streaming payloads are not implemented.');
  }
  throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.', {
    extra: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: payloadHash },
  });
}

/** Splits `request.raw.url` (path and query exactly as on the wire) at the first '?'. */
export function splitRawUrl(rawUrl: string): { path: string; query: string } {
  const question = rawUrl.indexOf('?');
  return question < 0 ? { path: rawUrl, query: '' } : { path: rawUrl.slice(0, question), query: rawUrl.slice(question + 1) };
}
