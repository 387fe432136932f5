// Method: known answers from the S3 API Reference SigV4 examples (GET object with header auth,
// presigned GET), then round trips through the SDK's own signer (@smithy/signature-v4, as
// @aws-sdk/client-s3 uses it), then one test per refusal: each mutation of a valid request must
// yield exactly the documented S3 error code.

import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HashConstructor } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { S3Error, type S3ErrorCode } from '../s3-errors.js';
import { canonicalQueryString, canonicalUri, parseQuery } from './sigv4-canonical.js';
import { splitRawUrl, verifySigV4, type SigV4Options, type SigV4Request } from './sigv4-verify.js';

const exampleAccessKeyId = 'AKIAIOSFODNN7EXAMPLE';
const exampleSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const exampleNow = new Date('2013-05-24T00:00:00Z');
const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const options: SigV4Options = {
  service: 's3',
  region: 'us-east-1',
  credentials: (id) => (id === exampleAccessKeyId ? { secretAccessKey: exampleSecret, userId: 'user-1' } : undefined),
};

function expectS3Error(run: () => unknown, code: S3ErrorCode, message?: RegExp): S3Error {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(S3Error);
    expect((error as S3Error).code).toBe(code);
    if (message) expect((error as S3Error).message).toMatch(message);
    return error as S3Error;
  }
  throw new Error(`expected S3Error ${code}`);
}

// S3 API Reference, "Signature Calculations for the Authorization Header: Transferring Payload
// in a Single Chunk", Example: GET Object.
const getObjectExample: SigV4Request = {
  method: 'GET',
  path: '/test.txt',
  query: '',
  now: exampleNow,
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': emptyHash,
    'x-amz-date': '20130524T000000Z',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  },
};

// S3 API Reference, "Authenticating Requests: Using Query Parameters", example presigned GET.
const presignedExample: SigV4Request = {
  method: 'GET',
  path: '/test.txt',
  query:
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  now: exampleNow,
  headers: { host: 'examplebucket.s3.amazonaws.com' },
};

describe('verifySigV4 with the AWS documentation examples', () => {
  it('accepts the GET Object header example', () => {
    const result = verifySigV4(getObjectExample, options);
    expect(result).toEqual({ userId: 'user-1', accessKeyId: exampleAccessKeyId, form: 'header', payload: { kind: 'sha256', hex: emptyHash } });
  });

  it('accepts the presigned GET example and treats the payload as unsigned', () => {
    const result = verifySigV4(presignedExample, options);
    expect(result.payload).toEqual({ kind: 'unsigned' });
    expect(result.form).toBe('presigned');
  });

  it('accepts the presigned example until X-Amz-Expires runs out, then answers Request has expired', () => {
    verifySigV4({ ...presignedExample, now: new Date(exampleNow.getTime() + 86400_000) }, options);
    const error = expectS3Error(() => verifySigV4({ ...presignedExample, now: new Date(exampleNow.getTime() + 86401_000) }, options), 'AccessDenied', /Request has expired/);
    expect(error.status).toBe(403);
  });
});

describe('verifySigV4 refusals', () => {
  const withHeaders = (headers: Record<string, string | undefined>): SigV4Request => ({ ...getObjectExample, headers: { ...getObjectExample.headers, ...headers } });
  const withAuthorization = (transform: (value: string) => string) => withHeaders({ authorization: transform(getObjectExample.headers.authorization as string) });

  it('clock skew over 15 minutes is RequestTimeTooSkewed; 15 minutes exactly passes', () => {
    verifySigV4({ ...getObjectExample, now: new Date(exampleNow.getTime() + 15 * 60_000) }, options);
    const error = expectS3Error(() => verifySigV4({ ...getObjectExample, now: new Date(exampleNow.getTime() + 15 * 60_000 + 1) }, options), 'RequestTimeTooSkewed');
    expect(error.extra.MaxAllowedSkewMilliseconds).toBe('900000');
    expectS3Error(() => verifySigV4({ ...getObjectExample, now: new Date(exampleNow.getTime() - 16 * 60_000) }, options), 'RequestTimeTooSkewed');
  });

  it('an unknown access key is InvalidAccessKeyId', () => {
    expectS3Error(() => verifySigV4(getObjectExample, { ...options, credentials: () => undefined }), 'InvalidAccessKeyId');
  });

  it('a wrong secret, a changed header value or a changed path is SignatureDoesNotMatch', () => {
    expectS3Error(() => verifySigV4(getObjectExample, { ...options, credentials: () => ({ secretAccessKey: 'other', userId: 'u' }) }), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4(withHeaders({ range: 'bytes=0-10' }), options), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4({ ...getObjectExample, path: '/test.txt2' }, options), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4({ ...getObjectExample, method: 'PUT' }, options), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4(withHeaders({ range: undefined }), options), 'SignatureDoesNotMatch');
  });

  it('header values are trimmed and inner spaces collapsed before signing', () => {
    verifySigV4(withHeaders({ range: '  bytes=0-9  ' }), options);
  });

  it('malformed Authorization headers are AuthorizationHeaderMalformed', () => {
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('/aws4_request', '/aws5_request')), options), 'AuthorizationHeaderMalformed');
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('Credential=AKIAIOSFODNN7EXAMPLE/', 'Credential=')), options), 'AuthorizationHeaderMalformed');
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('SignedHeaders=host;', 'SignedHeaders=')), options), 'AuthorizationHeaderMalformed', /host/);
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace(/Signature=[0-9a-f]+/, 'Signature=xyz')), options), 'AuthorizationHeaderMalformed');
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace(',Signature', ',Other=1,Signature')), options), 'AuthorizationHeaderMalformed');
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('us-east-1', 'eu-west-1')), options), 'AuthorizationHeaderMalformed', /region/);
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('/s3/', '/lambda/')), options), 'AuthorizationHeaderMalformed', /service/);
    expectS3Error(() => verifySigV4(withAuthorization((v) => v.replace('/20130524/', '/20130523/')), options), 'AuthorizationHeaderMalformed', /date/i);
    expectS3Error(() => verifySigV4(withAuthorization(() => 'AWS AKIAIOSFODNN7EXAMPLE:abc'), options), 'InvalidRequest');
  });

  it('a region predicate and the lambda service are parameters', () => {
    expectS3Error(() => verifySigV4(getObjectExample, { ...options, region: (region) => region === 'local' }), 'AuthorizationHeaderMalformed');
    expectS3Error(() => verifySigV4(getObjectExample, { ...options, service: 'lambda' }), 'AuthorizationHeaderMalformed');
    expect(verifySigV4(getObjectExample, { ...options, region: () => true }).userId).toBe('user-1');
  });

  it('unsigned x-amz-* headers are AccessDenied, and a missing x-amz-content-sha256 is InvalidRequest', () => {
    expectS3Error(() => verifySigV4(withHeaders({ 'x-amz-meta-evil': '1' }), options), 'AccessDenied', /not signed/);
    const unsignedSha = withAuthorization((v) => v.replace('range;x-amz-content-sha256;', 'range;'));
    expectS3Error(() => verifySigV4({ ...unsignedSha, headers: { ...unsignedSha.headers, 'x-amz-content-sha256': undefined } }, options), 'InvalidRequest', /x-amz-content-sha256/);
  });

  it('a bad x-amz-date is AccessDenied and both auth forms at once is InvalidArgument', () => {
    expectS3Error(() => verifySigV4(withHeaders({ 'x-amz-date': '20130524T250000Z' }), options), 'AccessDenied');
    expectS3Error(() => verifySigV4({ ...presignedExample, headers: getObjectExample.headers }, options), 'InvalidArgument');
    expectS3Error(() => verifySigV4({ ...getObjectExample, headers: { host: 'x' } }, options), 'AccessDenied');
  });

  it('presigned errors are AuthorizationQueryParametersError, SignatureDoesNotMatch or AccessDenied', () => {
    const withQuery = (transform: (query: string) => string): SigV4Request => ({ ...presignedExample, query: transform(presignedExample.query) });
    expectS3Error(() => verifySigV4(withQuery((q) => q.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801')), options), 'AuthorizationQueryParametersError', /604800/);
    expectS3Error(() => verifySigV4(withQuery((q) => q.replace('X-Amz-Expires=86400', 'X-Amz-Expires=-1')), options), 'AuthorizationQueryParametersError');
    expectS3Error(() => verifySigV4(withQuery((q) => q.replace(/&X-Amz-Date=[^&]+/, '')), options), 'AuthorizationQueryParametersError');
    expectS3Error(() => verifySigV4(withQuery((q) => q.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401')), options), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4(withQuery((q) => q + '&extra=1'), options), 'SignatureDoesNotMatch');
    expectS3Error(() => verifySigV4({ ...presignedExample, now: new Date(exampleNow.getTime() - 16 * 60_000) }, options), 'AccessDenied', /not valid yet/);
  });
});

describe('canonicalization', () => {
  it('canonicalUri decodes once and encodes once (S3 does not double-encode)', () => {
    expect(canonicalUri('/bucket/a%20b/c~d')).toBe('/bucket/a%20b/c~d');
    expect(canonicalUri('/bucket/a b+c!')).toBe('/bucket/a%20b%2Bc%21');
    expect(canonicalUri('/bucket/%e2%82%ac')).toBe('/bucket/%E2%82%AC');
    expect(canonicalUri('/b//k/./..')).toBe('/b//k/./..');
    expectS3Error(() => canonicalUri('/bad%zz'), 'InvalidURI');
  });

  it('canonicalQueryString sorts by name then value, keeps empty values and encodes slashes', () => {
    expect(canonicalQueryString(parseQuery('prefix=a/b&acl&list-type=2&a=2&a=1'))).toBe('a=1&a=2&acl=&list-type=2&prefix=a%2Fb');
  });

  it('splitRawUrl splits at the first question mark', () => {
    expect(splitRawUrl('/b/k?x=1?2')).toEqual({ path: '/b/k', query: 'x=1?2' });
    expect(splitRawUrl('/b/k')).toEqual({ path: '/b/k', query: '' });
  });
});

// A hash for @smithy/signature-v4 built on node:crypto (the SDK's own packages for this are not
// installed at top level); HMAC when constructed with a secret, as the Checksum contract says.
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {}
}

// RFC 3986 strict encoding, as the SDK puts keys and query values on the wire.
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function sdkSigner(service = 's3', applyChecksum = true): SignatureV4 {
  return new SignatureV4({
    service,
    region: 'us-east-1',
    credentials: { accessKeyId: exampleAccessKeyId, secretAccessKey: exampleSecret },
    sha256: NodeSha256 as unknown as HashConstructor,
    uriEscapePath: service !== 's3',
    applyChecksum,
  });
}

function toWire(request: { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string> }, now: Date): SigV4Request {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(request.query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) pairs.push(one === null ? strictEncode(name) : `${strictEncode(name)}=${strictEncode(one)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  return { method: request.method, path: request.path, query: pairs.join('&'), headers, now };
}

describe('verifySigV4 against the SDK signer (@smithy/signature-v4)', () => {
  const signingDate = new Date('2024-02-03T04:05:06Z');
  const key = 'dir/with space/ü+plus!(1)*.txt';
  const baseRequest = () => ({
    method: 'PUT',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9000,
    path: '/bucket/' + key.split('/').map(strictEncode).join('/'),
    query: { 'x-id': 'PutObject', prefix: 'a/b c', empty: '' } as Record<string, string>,
    headers: {
      host: '127.0.0.1:9000',
      'content-type': 'text/plain',
      'x-amz-content-sha256': createHash('sha256').update('hello').digest('hex'),
      'x-amz-meta-note': '  spaced   value ',
    } as Record<string, string>,
    body: 'hello',
  });

  it('accepts a header-signed PUT with an awkward key, query and metadata', async () => {
    const signed = await sdkSigner().sign(baseRequest(), { signingDate });
    const result = verifySigV4(toWire(signed, signingDate), { ...options, credentials: options.credentials });
    expect(result.payload).toEqual({ kind: 'sha256', hex: createHash('sha256').update('hello').digest('hex') });
  });

  it('accepts an SDK presigned GET and refuses it after expiry', async () => {
    // As @aws-sdk/s3-request-presigner does: declare UNSIGNED-PAYLOAD, which the signer hoists into the query.
    const request = { ...baseRequest(), method: 'GET', headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: undefined };
    const presigned = await sdkSigner().presign(request, { signingDate, expiresIn: 300 });
    expect(presigned.headers['x-amz-content-sha256']).toBeUndefined();
    const wire = toWire(presigned, new Date(signingDate.getTime() + 299_000));
    expect(verifySigV4(wire, options).payload).toEqual({ kind: 'unsigned' });
    expectS3Error(() => verifySigV4({ ...wire, now: new Date(signingDate.getTime() + 301_000) }, options), 'AccessDenied', /expired/);
  });

  it('accepts a lambda-service request whose body hash the caller supplies', async () => {
    const body = '{"a":1}';
    const request = { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/2015-03-31/functions/f/invocations', query: {}, headers: { host: '127.0.0.1:9001' }, body };
    const withHeader = await sdkSigner('lambda').sign(request, { signingDate });
    expect(verifySigV4(toWire(withHeader, signingDate), { ...options, service: 'lambda' }).payload.kind).toBe('sha256');
    const signed = await sdkSigner('lambda', false).sign(request, { signingDate });
    const wire = toWire(signed, signingDate);
    expect(wire.headers['x-amz-content-sha256']).toBeUndefined();
    const bodySha256Hex = createHash('sha256').update(body).digest('hex');
    expect(verifySigV4({ ...wire, bodySha256Hex }, { ...options, service: 'lambda' }).userId).toBe('user-1');
    expectS3Error(() => verifySigV4({ ...wire, bodySha256Hex: emptyHash }, { ...options, service: 'lambda' }), 'SignatureDoesNotMatch');
  });
});
