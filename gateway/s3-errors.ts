// The S3 error table (STYLE.md §7): one S3 code → one HTTP status and a default message, and the
// XML body S3 sends. Source: Amazon S3 API Reference, "Error responses" → "List of error codes".
// Anything that is not an S3Error (a bug, an AssertionError, an unknown throw) renders as
// 500 InternalError — never as a 4xx.

import { XMLBuilder } from 'fast-xml-parser';
import { CairnError } from '../dedup/errors.js';

export type S3ErrorCode =
  | 'AccessDenied'
  | 'AccountProblem'
  | 'AllAccessDisabled'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'BadDigest'
  | 'BucketAlreadyExists'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketNotEmpty'
  | 'EntityTooLarge'
  | 'EntityTooSmall'
  | 'ExpiredToken'
  | 'IllegalLocationConstraintException'
  | 'IncompleteBody'
  | 'InternalError'
  | 'InvalidAccessKeyId'
  | 'InvalidArgument'
  | 'InvalidBucketName'
  | 'InvalidBucketState'
  | 'InvalidDigest'
  | 'InvalidEncryptionAlgorithmError'
  | 'InvalidLocationConstraint'
  | 'InvalidObjectState'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'InvalidPartNumber'
  | 'InvalidRange'
  | 'InvalidRequest'
  | 'InvalidSecurity'
  | 'InvalidStorageClass'
  | 'InvalidTag'
  | 'InvalidToken'
  | 'InvalidURI'
  | 'KeyTooLongError'
  | 'MalformedACLError'
  | 'MalformedPOSTRequest'
  | 'MalformedTrailerError'
  | 'MalformedXML'
  | 'MaxMessageLengthExceeded'
  | 'MetadataTooLarge'
  | 'MethodNotAllowed'
  | 'MissingContentLength'
  | 'MissingRequestBodyError'
  | 'MissingSecurityHeader'
  | 'NoSuchBucket'
  | 'NoSuchBucketPolicy'
  | 'NoSuchConfiguration'
  | 'NoSuchCORSConfiguration'
  | 'NoSuchKey'
  | 'NoSuchLifecycleConfiguration'
  | 'NoSuchTagSet'
  | 'NoSuchUpload'
  | 'NoSuchVersion'
  | 'NotImplemented'
  | 'NotModified'
  | 'OperationAborted'
  | 'PreconditionFailed'
  | 'RequestHeaderSectionTooLarge'
  | 'RequestIsNotMultiPartContent'
  | 'RequestTimeout'
  | 'RequestTimeTooSkewed'
  | 'ServiceUnavailable'
  | 'SignatureDoesNotMatch'
  | 'SlowDown'
  | 'TooManyBuckets'
  | 'UnexpectedContent'
  | 'XAmzContentSHA256Mismatch';

export interface S3ErrorSpec {
  readonly status: number;
  readonly message: string;
}

// HTTP statuses and default messages as listed in the S3 API Reference, "List of error codes".
// `NotModified` is not in that list as an error, but GetObject/HeadObject answer 304 for a
// failed If-None-Match / If-Modified-Since (RFC 9110 §13.1.2), so routes may throw it.
export const s3ErrorTable: { readonly [Code in S3ErrorCode]: S3ErrorSpec } = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AccountProblem: { status: 403, message: 'There is a problem with your account that prevents the operation from completing successfully.' },
  AllAccessDisabled: { status: 403, message: 'All access to this Amazon S3 resource has been disabled.' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header that you provided is not valid.' },
  AuthorizationQueryParametersError: { status: 400, message: 'The authorization query parameters that you provided are not valid.' },
  BadDigest: { status: 400, message: 'The Content-MD5 or checksum value that you specified did not match what the server received.' },
  BucketAlreadyExists: { status: 409, message: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Select a different name and try again.' },
  BucketAlreadyOwnedByYou: { status: 409, message: 'Your previous request to create the named bucket succeeded and you already own it.' },
  BucketNotEmpty: { status: 409, message: 'The bucket that you tried to delete is not empty.' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  EntityTooSmall: { status: 400, message: 'Your proposed upload is smaller than the minimum allowed object size.' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  IllegalLocationConstraintException: { status: 400, message: 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.' },
  IncompleteBody: { status: 400, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' },
  InternalError: { status: 500, message: 'An internal error occurred. Try again.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS access key ID that you provided does not exist in our records.' },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidBucketState: { status: 409, message: 'The request is not valid for the current state of the bucket.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 or checksum value that you specified is not valid.' },
  InvalidEncryptionAlgorithmError: { status: 400, message: 'The encryption request that you specified is not valid.' },
  InvalidLocationConstraint: { status: 400, message: 'The specified location (Region) constraint is not valid.' },
  InvalidObjectState: { status: 403, message: 'The operation is not valid for the current state of the object.' },
  InvalidPart: { status: 400, message: 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified ETag might not have matched the uploaded part\'s ETag.' },
  // Not in the "List of error codes" page, but GetObject/HeadObject answer it for a partNumber past
  // the object's part count (GetObject, "partNumber"; observed from S3).
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidPartOrder: { status: 400, message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.' },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable' },
  InvalidRequest: { status: 400, message: 'Invalid Request' },
  InvalidSecurity: { status: 403, message: 'The provided security credentials are not valid.' },
  InvalidStorageClass: { status: 400, message: 'The storage class that you specified is not valid.' },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  InvalidToken: { status: 400, message: 'The provided token is malformed or otherwise not valid.' },
  InvalidURI: { status: 400, message: 'The specified URI couldn\'t be parsed.' },
  KeyTooLongError: { status: 400, message: 'Your key is too long.' },
  MalformedACLError: { status: 400, message: 'The ACL that you provided was not well formed or did not validate against our published schema.' },
  MalformedPOSTRequest: { status: 400, message: 'The body of your POST request is not well-formed multipart/form-data.' },
  MalformedTrailerError: { status: 400, message: 'The request contained trailing data that was not well-formed or did not conform to our published schema.' },
  MalformedXML: { status: 400, message: 'The XML that you provided was not well formed or did not validate against our published schema.' },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too large.' },
  MetadataTooLarge: { status: 400, message: 'Your metadata headers exceed the maximum allowed metadata size.' },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingRequestBodyError: { status: 400, message: 'Request Body is empty.' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchBucketPolicy: { status: 404, message: 'The specified bucket does not have a bucket policy.' },
  NoSuchConfiguration: { status: 404, message: 'The specified configuration does not exist.' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist.' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchLifecycleConfiguration: { status: 404, message: 'The lifecycle configuration does not exist.' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist.' },
  NoSuchUpload: { status: 404, message: 'The specified upload does not exist. The upload ID might not be valid, or the upload might have been aborted or completed.' },
  NoSuchVersion: { status: 404, message: 'The version ID specified in the request does not match an existing version.' },
  NotImplemented: { status: 501, message: 'A header that you provided implies functionality that is not implemented.' },
  NotModified: { status: 304, message: 'Not Modified' },
  OperationAborted: { status: 409, message: 'A conflicting conditional operation is currently in progress against this resource. Try again.' },
  PreconditionFailed: { status: 412, message: 'At least one of the preconditions that you specified did not hold.' },
  RequestHeaderSectionTooLarge: { status: 400, message: 'Your request header section exceeds the maximum allowed size.' },
  RequestIsNotMultiPartContent: { status: 400, message: 'A bucket POST request must be of the enclosure-type multipart/form-data.' },
  RequestTimeout: { status: 400, message: 'Your socket connection to the server was not read from or written to within the timeout period.' },
  RequestTimeTooSkewed: { status: 403, message: 'The difference between the request time and the server\'s time is too large.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: { status: 403, message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  TooManyBuckets: { status: 400, message: 'You have attempted to create more buckets than allowed.' },
  UnexpectedContent: { status: 400, message: 'This request does not support content.' },
  XAmzContentSHA256Mismatch: { status: 400, message: 'The provided \'x-amz-content-sha256\' header does not match what was computed.' },
};

export const s3ErrorCodes = Object.keys(s3ErrorTable) as readonly S3ErrorCode[];

export interface S3ErrorOptions {
  /** The bucket or object the request named; rendered as <Resource> when the renderer gets none. */
  readonly resource?: string;
  /** Extra child elements S3 adds for some codes (e.g. StringToSign, RequestTime, ArgumentName). */
  readonly extra?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export class S3Error extends CairnError<S3ErrorCode> {
  readonly resource: string | undefined;
  readonly extra: Readonly<Record<string, string>>;
  constructor(code: S3ErrorCode, message?: string, options: S3ErrorOptions = {}) {
    super(code, message ?? s3ErrorTable[code].message, { cause: options.cause });
    this.resource = options.resource;
    this.extra = options.extra ?? {};
  }

  get status(): number {
    return s3ErrorTable[this.code].status;
  }
}

export function isS3Error(error: unknown): error is S3Error {
  return error instanceof S3Error;
}

/** Maps anything thrown to the S3Error to answer with: unknown errors become 500 InternalError. */
export function toS3Error(error: unknown): S3Error {
  if (error instanceof S3Error) return error;
  return new S3Error('InternalError', undefined, { cause: error });
}

/** HTTP status for anything thrown (500 unless it is an S3Error). */
export function s3ErrorStatus(error: unknown): number {
  return toS3Error(error).status;
}

const errorXmlBuilder = new XMLBuilder({ processEntities: true, suppressEmptyNode: false });

// Element names must be XML names; an `extra` key that is not one is a bug in the thrower.
const xmlNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export interface RenderS3ErrorContext {
  readonly resource?: string;
  readonly requestId: string;
  readonly hostId?: string;
}

/**
 * The body S3 sends with an error (S3 API Reference, "Error responses" → "REST error responses"):
 * <Error><Code/><Message/>…extra…<Resource/><RequestId/></Error>. Non-S3 errors render as
 * InternalError with the generic message, so internals never leak to the client.
 */
export function renderS3ErrorXml(error: unknown, context: RenderS3ErrorContext): string {
  const s3Error = toS3Error(error);
  const body: Record<string, string> = { Code: s3Error.code, Message: s3Error.message };
  for (const [name, value] of Object.entries(s3Error.extra)) {
    if (!xmlNamePattern.test(name) || name in body) continue;
    body[name] = value;
  }
  const resource = context.resource ?? s3Error.resource;
  if (resource !== undefined) body.Resource = resource;
  body.RequestId = context.requestId;
  if (context.hostId !== undefined) body.HostId = context.hostId;
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + errorXmlBuilder.build({ Error: body });
}
