// Parsing the two SigV4 request forms into one shape, with S3's error codes for malformed input.
// Header form: S3 API Reference, "Authenticating Requests: Using the Authorization Header".
// Query form:  S3 API Reference, "Authenticating Requests: Using Query Parameters" (presigned URLs).

import { S3Error, type S3ErrorCode } from '../s3-errors.js';
import { authorizationHeaderBytesMax, presignExpiresSecondsMax, signedHeadersCountMax } from './limits.js';
import { sigV4Algorithm, type QueryParameter } from './sigv4-canonical.js';

export interface CredentialScope {
  readonly accessKeyId: string;
  readonly date: string; // YYYYMMDD
  readonly region: string;
  readonly service: string;
}

export interface ParsedSigV4 {
  readonly form: 'header' | 'presigned';
  readonly credential: CredentialScope;
  readonly signedHeaders: readonly string[];
  readonly signature: string; // 64 lowercase hex
  readonly amzDate: string; // YYYYMMDDTHHMMSSZ
  readonly time: Date;
  readonly expiresSeconds?: number; // presigned only
}

const signaturePattern = /^[0-9a-f]{64}$/;
const amzDatePattern = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const headerNamePattern = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** Parses ISO 8601 basic (YYYYMMDD'T'HHMMSS'Z'); undefined when not exactly that or not a real date. */
export function parseAmzDate(value: string): Date | undefined {
  const match = amzDatePattern.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 20130231 over to March; a real date must round-trip.
  if (time.getUTCMonth() !== month - 1 || time.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return time;
}

export function formatAmzDate(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function malformed(code: S3ErrorCode, message: string): S3Error {
  return new S3Error(code, message);
}

function parseCredential(value: string, code: S3ErrorCode): CredentialScope {
  const parts = value.split('/');
  const [accessKeyId, date, region, service, terminal] = parts;
  if (parts.length !== 5 || !accessKeyId || !date || !region || !service || !/^\d{8}$/.test(date)) {
    const prefix = code === 'AuthorizationHeaderMalformed' ? 'The authorization header is malformed; the Credential is mal-formed' : 'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed';
    throw malformed(code, `${prefix}; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  if (terminal !== 'aws4_request') {
    throw malformed(code, `The authorization header is malformed; incorrect terminal "${terminal ?? ''}". This endpoint uses "aws4_request".`);
  }
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(value: string, code: S3ErrorCode): string[] {
  const names = value.split(';');
  if (names.length > signedHeadersCountMax) throw malformed(code, 'Too many signed headers.');
  for (const name of names) {
    if (!headerNamePattern.test(name)) throw malformed(code, `The signed header name '${name}' is not valid; names must be lowercase.`);
  }
  if (new Set(names).size !== names.length) throw malformed(code, 'SignedHeaders lists a header twice.');
  // Spec: "host" must always be signed, so a request cannot be replayed against another host.
  if (!names.includes('host')) throw malformed(code, 'SignedHeaders must include host.');
  return names;
}

/**
 * Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
 *   SignedHeaders=a;b;c, Signature=hex
 * Components may be separated by "," or ", " (the spec's example uses ", ").
 */
export function parseAuthorizationHeader(header: string): Omit<ParsedSigV4, 'amzDate' | 'time'> {
  const code = 'AuthorizationHeaderMalformed';
  if (header.length > authorizationHeaderBytesMax) throw malformed(code, 'The authorization header is too long.');
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== sigV4Algorithm) {
    // SigV2 ("AWS AKID:sig") and SigV4a are not offered; S3 answers this for SigV2 in new regions.
    throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  const fields = new Map<string, string>();
  for (const component of header.slice(space + 1).split(',')) {
    const trimmed = component.trim();
    const equals = trimmed.indexOf('=');
    if (equals <= 0) throw malformed(code, `The authorization header is malformed; the authorization component "${trimmed}" is malformed.`);
    const name = trimmed.slice(0, equals);
    if (fields.has(name)) throw malformed(code, `The authorization header is malformed; "${name}" appears twice.`);
    fields.set(name, trimmed.slice(equals + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) {
    throw malformed(code, 'The authorization header is malformed; it must contain exactly Credential, SignedHeaders and Signature.');
  }
  if (!signaturePattern.test(signature)) throw malformed(code, 'The authorization header is malformed; the Signature is not 64 lowercase hex digits.');
  return {
    form: 'header',
    credential: parseCredential(credential, code),
    signedHeaders: parseSignedHeaders(signedHeaders, code),
    signature,
  };
}

export const presignParameterNames = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;

/** Presigned URL parameters (all six required, each once). */
export function parsePresignedQuery(parameters: readonly QueryParameter[]): ParsedSigV4 {
  const code = 'AuthorizationQueryParametersError';
  const values = new Map<string, string>();
  for (const { name, value } of parameters) {
    if (!(presignParameterNames as readonly string[]).includes(name)) continue;
    if (values.has(name)) throw malformed(code, `Query parameter ${name} appears twice.`);
    values.set(name, value);
  }
  for (const name of presignParameterNames) {
    if (!values.has(name)) {
      throw malformed(code, `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; ${name} is missing.`);
    }
  }
  if (values.get('X-Amz-Algorithm') !== sigV4Algorithm) throw malformed(code, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');
  const amzDate = values.get('X-Amz-Date')!;
  const time = parseAmzDate(amzDate);
  if (time === undefined) throw malformed(code, 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'".');
  const expiresText = values.get('X-Amz-Expires')!;
  if (!/^\d{1,7}$/.test(expiresText)) throw malformed(code, 'X-Amz-Expires should be a number.');
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds > presignExpiresSecondsMax) {
    throw malformed(code, `X-Amz-Expires must be less than a week (in seconds) that is ${presignExpiresSecondsMax}.`);
  }
  const signature = values.get('X-Amz-Signature')!;
  if (!signaturePattern.test(signature)) throw malformed(code, 'X-Amz-Signature is not 64 lowercase hex digits.');
  return {
    form: 'presigned',
    credential: parseCredential(values.get('X-Amz-Credential')!, code),
    signedHeaders: parseSignedHeaders(values.get('X-Amz-SignedHeaders')!, code),
    signature,
    amzDate,
    time,
    expiresSeconds,
  };
}
