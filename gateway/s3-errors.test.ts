// Method: the table is checked against a transcription of the S3 API Reference "List of error
// codes" (code → HTTP status), kept here apart from the table so a typo in one shows as a diff;
// the XML body is parsed back with fast-xml-parser and compared field by field.

import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../dedup/errors.js';
import { renderS3ErrorXml, S3Error, s3ErrorCodes, s3ErrorTable, toS3Error, type S3ErrorCode } from './s3-errors.js';

// Transcribed from https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
// NotModified is the 304 of conditional GET (RFC 9110 §15.4.5), not in that list; neither is
// InvalidPartNumber (416), which GetObject answers for a partNumber past the part count.
const documentedStatus: Record<S3ErrorCode, number> = {
  AccessDenied: 403, AccountProblem: 403, AllAccessDisabled: 403,
  AuthorizationHeaderMalformed: 400, AuthorizationQueryParametersError: 400,
  BadDigest: 400, BucketAlreadyExists: 409, BucketAlreadyOwnedByYou: 409, BucketNotEmpty: 409,
  EntityTooLarge: 400, EntityTooSmall: 400, ExpiredToken: 400,
  IllegalLocationConstraintException: 400, IncompleteBody: 400, InternalError: 500,
  InvalidAccessKeyId: 403, InvalidArgument: 400, InvalidBucketName: 400, InvalidBucketState: 409,
  InvalidDigest: 400, InvalidEncryptionAlgorithmError: 400, InvalidLocationConstraint: 400,
  InvalidObjectState: 403, InvalidPart: 400, InvalidPartNumber: 416, InvalidPartOrder: 400, InvalidRange: 416,
  InvalidRequest: 400, InvalidSecurity: 403, InvalidStorageClass: 400, InvalidTag: 400,
  InvalidToken: 400, InvalidURI: 400, KeyTooLongError: 400, MalformedACLError: 400,
  MalformedPOSTRequest: 400, MalformedTrailerError: 400, MalformedXML: 400, MaxMessageLengthExceeded: 400,
  MetadataTooLarge: 400, MethodNotAllowed: 405, MissingContentLength: 411,
  MissingRequestBodyError: 400, MissingSecurityHeader: 400, NoSuchBucket: 404,
  NoSuchBucketPolicy: 404, NoSuchConfiguration: 404, NoSuchCORSConfiguration: 404, NoSuchKey: 404,
  NoSuchLifecycleConfiguration: 404, NoSuchTagSet: 404, NoSuchUpload: 404, NoSuchVersion: 404,
  NotImplemented: 501, NotModified: 304, OperationAborted: 409, PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 400, RequestIsNotMultiPartContent: 400, RequestTimeout: 400,
  RequestTimeTooSkewed: 403, ServiceUnavailable: 503, SignatureDoesNotMatch: 403, SlowDown: 503,
  TooManyBuckets: 400, UnexpectedContent: 400, XAmzContentSHA256Mismatch: 400,
};

const parser = new XMLParser({ parseTagValue: false });

describe('s3ErrorTable', () => {
  it('covers every code with the status S3 documents', () => {
    expect([...s3ErrorCodes].sort()).toEqual(Object.keys(documentedStatus).sort());
    for (const code of s3ErrorCodes) {
      expect([code, s3ErrorTable[code].status]).toEqual([code, documentedStatus[code]]);
      expect(s3ErrorTable[code].message.length).toBeGreaterThan(0);
    }
  });

  it('S3Error for a code carries the table status and default message', () => {
    const error = new S3Error('NoSuchKey');
    expect(error.status).toBe(404);
    expect(error.message).toBe(s3ErrorTable.NoSuchKey.message);
    expect(error.name).toBe('S3Error');
  });
});

describe('toS3Error', () => {
  it('turns unknown errors and assertion failures into 500 InternalError', () => {
    for (const thrown of [new Error('boom'), new AssertionError('bug'), 'string', undefined]) {
      const error = toS3Error(thrown);
      expect(error.code).toBe('InternalError');
      expect(error.status).toBe(500);
    }
  });
});

describe('renderS3ErrorXml', () => {
  it('renders Code, Message, extras, Resource and RequestId, escaping text', () => {
    const error = new S3Error('SignatureDoesNotMatch', undefined, {
      extra: { AWSAccessKeyId: 'AKID', StringToSign: 'a<b&c' },
    });
    const xml = renderS3ErrorXml(error, { resource: '/bucket/key&<>', requestId: 'req-1' });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>')).toBe(true);
    const parsed = parser.parse(xml) as { Error: Record<string, string> };
    expect(parsed.Error).toEqual({
      Code: 'SignatureDoesNotMatch',
      Message: s3ErrorTable.SignatureDoesNotMatch.message,
      AWSAccessKeyId: 'AKID',
      StringToSign: 'a<b&c',
      Resource: '/bucket/key&<>',
      RequestId: 'req-1',
    });
  });

  it('hides the message of an unknown error behind InternalError', () => {
    const xml = renderS3ErrorXml(new Error('secret path /var/x'), { requestId: 'r' });
    expect(xml).toContain('<Code>InternalError</Code>');
    expect(xml).not.toContain('secret');
  });

  it('uses the resource on the error when the context has none, and drops bad extra names', () => {
    const error = new S3Error('NoSuchBucket', undefined, { resource: 'b', extra: { 'bad name': 'x', Code: 'y' } });
    const parsed = parser.parse(renderS3ErrorXml(error, { requestId: 'r' })) as { Error: Record<string, string> };
    expect(parsed.Error).toEqual({ Code: 'NoSuchBucket', Message: s3ErrorTable.NoSuchBucket.message, Resource: 'b', RequestId: 'r' });
  });
});
