// Canonical request, string to sign and signing key for AWS Signature Version 4.
// Spec: IAM User Guide, "Create a signed AWS API request" (canonical request, string to sign,
// signing key), and S3 API Reference, "Signature Calculations for the Authorization Header".
// Pure: bytes and strings in, strings out.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../s3-errors.js';
import { pathBytesMax, queryBytesMax, queryParametersCountMax } from './limits.js';

export const sigV4Algorithm = 'AWS4-HMAC-SHA256';
export const emptySha256Hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const dateKey = hmacSha256('AWS4' + secretAccessKey, date);
  const regionKey = hmacSha256(dateKey, region);
  const serviceKey = hmacSha256(regionKey, service);
  return hmacSha256(serviceKey, 'aws4_request');
}

/**
 * Signing keys by (secret, date, region, service). A key changes once a day per user, yet deriving
 * it costs four HMACs per request, a visible share of a small request's CPU. Owned by the door
 * that verifies (pass it in SigV4Options), bounded, and cleared when full. Returned keys are
 * shared: use them only as HMAC keys.
 */
export class SigningKeyCache {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly entriesMax = 4096) {}

  derive(secretAccessKey: string, date: string, region: string, service: string): Buffer {
    const id = `${date}\n${region}\n${service}\n${secretAccessKey}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      if (this.keys.size >= this.entriesMax) this.keys.clear();
      key = deriveSigningKey(secretAccessKey, date, region, service);
      this.keys.set(id, key);
    }
    return key;
  }
}

/** Both arguments are 64-char lowercase hex (checked by the parsers); compare in constant time. */
export function signaturesEqual(expectedHex: string, actualHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'latin1');
  const actual = Buffer.from(actualHex, 'latin1');
  if (expected.length !== actual.length) return false;
  return timingSafeEqual(expected, actual);
}

const hexDigits = '0123456789ABCDEF';

// UriEncode from the SigV4 spec: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other
// byte becomes %XY with uppercase hex; '/' stays only in the path (encodeSlash false).
function uriEncodeBytes(bytes: Uint8Array, encodeSlash: boolean): string {
  let out = '';
  for (const byte of bytes) {
    const unreserved =
      (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) ||
      byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e;
    if (unreserved || (byte === 0x2f && !encodeSlash)) out += String.fromCharCode(byte);
    else out += '%' + hexDigits[byte >> 4] + hexDigits[byte & 15];
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Percent-decodes a raw URI component to bytes; `plusIsSpace` for query strings
 *  (application/x-www-form-urlencoded, which is how S3 reads its query). */
export function percentDecode(raw: string, plusIsSpace: boolean): Buffer {
  const input = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  for (let index = 0; index < input.length; index++) {
    const byte = input[index]!;
    if (byte === 0x25) {
      const high = index + 2 < input.length ? hexValue(input[index + 1]!) : -1;
      const low = index + 2 < input.length ? hexValue(input[index + 2]!) : -1;
      if (high < 0 || low < 0) throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.');
      out[length++] = (high << 4) | low;
      index += 2;
    } else {
      out[length++] = plusIsSpace && byte === 0x2b ? 0x20 : byte;
    }
  }
  return out.subarray(0, length);
}

/** CanonicalURI for S3: the path decoded once and UriEncoded once — S3 does not double-encode
 *  (S3 API Reference, "Signature Calculations for the Authorization Header", CanonicalURI). */
export function canonicalUri(rawPath: string): string {
  if (rawPath.length > pathBytesMax) throw new S3Error('InvalidURI', 'The request path is too long.');
  if (rawPath === '') return '/';
  return uriEncodeBytes(percentDecode(rawPath, false), false);
}

export interface QueryParameter {
  readonly name: string;
  readonly value: string;
}

/** Splits a raw query string into decoded (UTF-8) parameters, in wire order. */
export function parseQuery(rawQuery: string): QueryParameter[] {
  if (rawQuery.length > queryBytesMax) throw new S3Error('InvalidURI', 'The query string is too long.');
  const parameters: QueryParameter[] = [];
  if (rawQuery === '') return parameters;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    if (parameters.length === queryParametersCountMax) throw new S3Error('InvalidURI', 'Too many query parameters.');
    const equals = pair.indexOf('=');
    const rawName = equals < 0 ? pair : pair.slice(0, equals);
    const rawValue = equals < 0 ? '' : pair.slice(equals + 1);
    parameters.push({
      name: percentDecode(rawName, true).toString('utf8'),
      value: percentDecode(rawValue, true).toString('utf8'),
    });
  }
  return parameters;
}

/** CanonicalQueryString: each name and value UriEncoded (slash too), sorted by encoded name then
 *  value in byte order, joined with '&'; a parameter without a value gets "name=". */
export function canonicalQueryString(parameters: readonly QueryParameter[], excludeName?: string): string {
  const encoded: Array<[string, string]> = [];
  for (const { name, value } of parameters) {
    if (name === excludeName) continue;
    encoded.push([uriEncodeBytes(Buffer.from(name, 'utf8'), true), uriEncodeBytes(Buffer.from(value, 'utf8'), true)]);
  }
  // Encoded strings are ASCII, so UTF-16 code-unit order is byte order.
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Header value as SigV4 canonicalizes it: repeated headers joined by ',', each value trimmed
 *  and runs of spaces collapsed to one ("Trimall" in the spec). */
export function canonicalHeaderValue(value: string | readonly string[]): string {
  const values = typeof value === 'string' ? [value] : value;
  return values.map((one) => one.trim().replace(/\s+/g, ' ')).join(',');
}

/** CanonicalHeaders for the given (already sorted, lowercase) signed header names. A signed
 *  header that is absent means the client signed a different request. */
export function canonicalHeaders(headers: RequestHeaders, signedHeaders: readonly string[]): string {
  let out = '';
  for (const name of signedHeaders) {
    const value = headers[name];
    if (value === undefined) {
      throw new S3Error('SignatureDoesNotMatch', `The request signature we calculated does not match the signature you provided. Signed header '${name}' is missing.`);
    }
    out += `${name}:${canonicalHeaderValue(value)}\n`;
  }
  return out;
}

export interface CanonicalRequestParts {
  readonly method: string;
  readonly canonicalUri: string;
  readonly canonicalQuery: string;
  readonly canonicalHeaders: string;
  readonly signedHeaders: readonly string[];
  readonly payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method,
    parts.canonicalUri,
    parts.canonicalQuery,
    parts.canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return [sigV4Algorithm, amzDate, scope, sha256Hex(canonicalRequestText)].join('\n');
}
