// Service- and bucket-level S3 operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, ListObjects (V1 and V2), ListMultipartUploads.
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { encodeKeyFor, isoTime, parseXml, renderXml } from '../xml.js';
import { walkKeys } from '../service/listing.js';
import { objectPrefix, uploadPrefix } from '../service/keys.js';
import { decodeRecord, type ObjectRecordV1, type UploadRecordV1 } from '../service/records.js';
import { readSmallBody } from '../body.js';
import type { S3Call } from './context.js';

export async function listBuckets(call: S3Call): Promise<void> {
  const buckets = await call.services.buckets.list(call.auth.userId);
  sendXml(call, 200, 'ListAllMyBucketsResult', {
    Owner: { ID: call.auth.userId, DisplayName: call.auth.userId },
    Buckets: { Bucket: buckets.map((bucket) => ({ Name: bucket.name, CreationDate: isoTime(bucket.createdMs) })) },
  });
}

export async function createBucket(call: S3Call): Promise<void> {
  const bucket = call.address.bucket!;
  const body = await readSmallBody(call.request, call.auth);
  let location: string | undefined;
  if (body.length > 0) {
    const document = parseXml(body.toString('utf8'), 'CreateBucketConfiguration');
    location = typeof document.LocationConstraint === 'string' ? document.LocationConstraint : undefined;
  }
  await call.services.buckets.create(call.auth.userId, bucket, location);
  call.reply.header('location', `/${bucket}`).code(200).send();
}

export async function headBucket(call: S3Call): Promise<void> {
  const record = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  call.reply.header('x-amz-bucket-region', record.region).code(200).send();
}

export async function deleteBucket(call: S3Call): Promise<void> {
  await call.services.buckets.delete(call.auth.userId, call.address.bucket!);
  call.reply.code(204).send();
}

export async function getBucketLocation(call: S3Call): Promise<void> {
  const record = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  // us-east-1 is reported as an empty constraint (S3 API Reference, GetBucketLocation).
  sendXml(call, 200, 'LocationConstraint', { '#text': record.region === 'us-east-1' ? '' : record.region });
}

function maxKeysOf(call: S3Call, name = 'max-keys'): number {
  const raw = call.address.query.get(name);
  if (raw === undefined) return gatewayLimits.listKeysMax;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { extra: { ArgumentName: name, ArgumentValue: raw } });
  }
  return Math.min(value, gatewayLimits.listKeysMax);
}

function encodingTypeOf(call: S3Call): string | undefined {
  const encodingType = call.address.query.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: encodingType } });
  }
  return encodingType;
}

function objectEntry(key: string, record: ObjectRecordV1, encodingType: string | undefined, withOwner: boolean): Record<string, unknown> {
  return {
    Key: encodeKeyFor(encodingType, key), LastModified: isoTime(record.lastModifiedMs), ETag: record.etag, Size: record.size,
    ...(record.checksum ? { ChecksumAlgorithm: record.checksum.algorithm, ChecksumType: record.checksum.type } : {}),
    StorageClass: 'STANDARD', ...(withOwner ? { Owner: { ID: record.owner, DisplayName: record.owner } } : {}),
  };
}

export async function listObjects(call: S3Call, version: 1 | 2): Promise<void> {
  const bucket = call.address.bucket!;
  await call.services.buckets.authorize(call.auth.userId, bucket);
  const query = call.address.query;
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const encodingType = encodingTypeOf(call);
  const maxKeys = maxKeysOf(call);
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const marker = query.get('marker') ?? '';
  const after = version === 2 ? (token !== undefined ? decodeToken(token) : startAfter) : marker;
  const walk = await walkKeys(metaOf(call), { namespace: objectPrefix(bucket), prefix, delimiter, after, maxKeys });
  const contents = walk.entries.map(({ key, value }) => objectEntry(key, decodeRecord<ObjectRecordV1>(value, 'object'), encodingType, version === 1 || query.get('fetch-owner') === 'true'));
  const common = walk.commonPrefixes.map((value) => ({ Prefix: encodeKeyFor(encodingType, value) }));
  const shared = {
    Name: bucket, Prefix: encodeKeyFor(encodingType, prefix), MaxKeys: maxKeys,
    ...(delimiter ? { Delimiter: encodeKeyFor(encodingType, delimiter) } : {}), IsTruncated: walk.isTruncated,
    ...(encodingType ? { EncodingType: encodingType } : {}),
  };
  if (version === 2) {
    sendXml(call, 200, 'ListBucketResult', {
      ...shared, KeyCount: contents.length + common.length,
      ...(token !== undefined ? { ContinuationToken: token } : {}),
      ...(walk.isTruncated && walk.last !== undefined ? { NextContinuationToken: encodeToken(walk.last) } : {}),
      ...(startAfter ? { StartAfter: encodeKeyFor(encodingType, startAfter) } : {}),
      Contents: contents, CommonPrefixes: common,
    });
  } else {
    sendXml(call, 200, 'ListBucketResult', {
      ...shared, Marker: encodeKeyFor(encodingType, marker),
      ...(walk.isTruncated && delimiter && walk.last !== undefined ? { NextMarker: encodeKeyFor(encodingType, walk.last) } : {}),
      Contents: contents, CommonPrefixes: common,
    });
  }
}

function metaOf(call: S3Call) {
  return call.services.meta;
}

export async function listMultipartUploads(call: S3Call): Promise<void> {
  const bucket = call.address.bucket!;
  await call.services.buckets.authorize(call.auth.userId, bucket);
  const query = call.address.query;
  const prefix = query.get('prefix') ?? '';
  const encodingType = encodingTypeOf(call);
  const maxUploads = maxKeysOf(call, 'max-uploads');
  // Upload records are keyed by id, not by object key: read them all (bounded by the walk) and sort.
  const walk = await walkKeys(metaOf(call), { namespace: uploadPrefix(bucket), prefix: '', delimiter: '', after: '', maxKeys: gatewayLimits.uploadsListedMax });
  const keyMarker = query.get('key-marker') ?? '';
  const idMarker = query.get('upload-id-marker') ?? '';
  const uploads = walk.entries.map(({ value }) => decodeRecord<UploadRecordV1>(value, 'upload'))
    .filter((upload) => upload.key.startsWith(prefix))
    .filter((upload) => upload.key > keyMarker || (upload.key === keyMarker && idMarker !== '' && upload.uploadId > idMarker))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiatedMs - b.initiatedMs));
  const page = uploads.slice(0, maxUploads);
  const isTruncated = uploads.length > maxUploads;
  const last = page.at(-1);
  sendXml(call, 200, 'ListMultipartUploadsResult', {
    Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: idMarker,
    ...(isTruncated && last ? { NextKeyMarker: encodeKeyFor(encodingType, last.key), NextUploadIdMarker: last.uploadId } : {}),
    Prefix: prefix, MaxUploads: maxUploads, IsTruncated: isTruncated,
    Upload: page.map((upload) => ({
      Key: encodeKeyFor(encodingType, upload.key), UploadId: upload.uploadId, Initiator: { ID: upload.owner, DisplayName: upload.owner },
      Owner: { ID: upload.owner, DisplayName: upload.owner }, StorageClass: 'STANDARD', Initiated: isoTime(upload.initiatedMs),
    })),
  });
}

export function sendXml(call: S3Call, status: number, root: string, body: Record<string, unknown>): void {
  call.reply.code(status).header('content-type', 'application/xml').send(renderXml(root, body));
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  return Buffer.from(token, 'base64url').toString('utf8');
}
