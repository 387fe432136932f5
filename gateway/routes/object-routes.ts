// Object-level S3 operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects,
// CopyObject. Handlers parse and validate; the services hold the storage logic.
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { isoTime, parseXml } from '../xml.js';
import { objectBody, readSmallBody } from '../body.js';
import { checksumHeaderName } from '../body-digest.js';
import { sendXml } from './bucket-routes.js';
import { header, type S3Call } from './context.js';
import { sendPieces } from './send-pieces.js';
import { contentHeadersOf, evaluatePreconditions, parseRange, sendObjectHeaders, userMetadataOf } from './object-headers.js';
import type { ObjectRecordV1 } from '../service/records.js';

export async function putObject(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const { body, digest, signal } = objectBody(call.request, call.auth, gatewayLimits.objectBytesMax);
  const ifNoneMatch = header(call.request, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch !== '*') throw new S3Error('NotImplemented', 'If-None-Match on PUT supports only *');
  const record = await call.services.objects.put({
    user: call.auth.userId, bucket, key: call.address.key!, body, digest, signal,
    headers: contentHeadersOf(call.request), userMetadata: userMetadataOf(call.request), ifNoneMatch: ifNoneMatch === '*',
  });
  sendChecksumHeader(call, record);
  call.reply.header('etag', record.etag).code(200).send();
}

function sendChecksumHeader(call: S3Call, record: { checksum?: ObjectRecordV1['checksum'] }): void {
  if (record.checksum) call.reply.header(checksumHeaderName(record.checksum.algorithm), record.checksum.value);
}

export async function getObject(call: S3Call, withBody: boolean): Promise<void> {
  await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const { record, manifest } = await call.services.objects.open(call.address.bucket!, call.address.key!);
  const precondition = evaluatePreconditions(call.request, record);
  if (precondition === 'failed') throw new S3Error('PreconditionFailed', undefined, { extra: { Condition: 'If-Match' } });
  if (precondition === 'not-modified') {
    call.reply.header('etag', record.etag).header('last-modified', new Date(record.lastModifiedMs).toUTCString()).code(304).send();
    return;
  }
  const partNumberRaw = call.address.query.get('partNumber');
  let range = parseRange(header(call.request, 'range'), record.size);
  if (partNumberRaw !== undefined) range = partRange(record, partNumberRaw);
  sendObjectHeaders(call.reply, record, call.address.query);
  if (record.partSizes) call.reply.header('x-amz-mp-parts-count', String(record.partSizes.length));
  const whole = range === 'whole' || (range.start === 0 && range.endInclusive === record.size - 1 && partNumberRaw === undefined);
  if (whole && header(call.request, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED' && record.checksum) {
    sendChecksumHeader(call, record);
    call.reply.header('x-amz-checksum-type', record.checksum.type);
  }
  if (range === 'whole') {
    call.reply.header('content-length', String(record.size)).code(200);
    if (!withBody || record.size === 0) { call.reply.send(); return; }
    await sendPieces(call.reply, call.services.blobs.readLeased(manifest), call.services.collectGarbage);
    return;
  }
  call.reply.header('content-length', String(range.endInclusive - range.start + 1))
    .header('content-range', `bytes ${range.start}-${range.endInclusive}/${record.size}`).code(206);
  if (!withBody) { call.reply.send(); return; }
  await sendPieces(call.reply, call.services.blobs.readLeased(manifest, range), call.services.collectGarbage);
}

function partRange(record: ObjectRecordV1, raw: string): { start: number; endInclusive: number } | 'whole' {
  const partNumber = Number(raw);
  const sizes = record.partSizes ?? [record.size];
  if (!/^\d+$/.test(raw) || partNumber < 1 || partNumber > gatewayLimits.partNumberMax) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { extra: { ArgumentName: 'partNumber', ArgumentValue: raw } });
  }
  if (partNumber > sizes.length) throw new S3Error('InvalidPartNumber');
  const start = sizes.slice(0, partNumber - 1).reduce((sum, size) => sum + size, 0);
  if (sizes[partNumber - 1] === 0) return 'whole';
  return { start, endInclusive: start + sizes[partNumber - 1] - 1 };
}

export async function deleteObject(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  await call.services.objects.delete(bucket, call.address.key!, call.auth.userId);
  call.reply.code(204).send();
}

export async function deleteObjects(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const document = parseXml((await readSmallBody(call.request, call.auth)).toString('utf8'), 'Delete');
  const objects = (document.Object ?? []) as { Key?: unknown }[];
  if (!Array.isArray(objects) || objects.length === 0) throw new S3Error('MalformedXML');
  if (objects.length > gatewayLimits.deleteObjectsKeysMax) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const quiet = String(document.Quiet ?? 'false').toLowerCase() === 'true';
  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const object of objects) {
    const key = typeof object.Key === 'string' ? object.Key : '';
    try {
      await call.services.objects.delete(bucket, key, call.auth.userId);
      if (!quiet) deleted.push({ Key: key });
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      errors.push({ Key: key, Code: error.code, Message: error.message });
    }
  }
  sendXml(call, 200, 'DeleteResult', { Deleted: deleted, Error: errors });
}

/** "x-amz-copy-source: /bucket/key" (URL-encoded, optional leading slash, optional ?versionId). */
export function parseCopySource(value: string): { bucket: string; key: string } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value.split('?')[0]);
  } catch {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { extra: { ArgumentName: 'x-amz-copy-source' } });
  }
  const trimmed = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = trimmed.indexOf('/');
  if (slash <= 0 || slash === trimmed.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { extra: { ArgumentName: 'x-amz-copy-source' } });
  }
  return { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
}

export async function openCopySource(call: S3Call) {
  const source = parseCopySource(header(call.request, 'x-amz-copy-source')!);
  if (call.auth.scope !== undefined && source.bucket !== call.auth.scope) throw new S3Error('AccessDenied', 'These credentials are scoped to another bucket.');
  await call.services.buckets.authorize(call.auth.userId, source.bucket);
  const opened = await call.services.objects.open(source.bucket, source.key);
  const precondition = evaluatePreconditions(call.request, opened.record, 'x-amz-copy-source-');
  if (precondition !== 'ok') throw new S3Error('PreconditionFailed', undefined, { extra: { Condition: 'x-amz-copy-source-If-Match' } });
  return { ...source, ...opened };
}

export async function copyObject(call: S3Call): Promise<void> {
  const target = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const source = await openCopySource(call);
  const directive = (header(call.request, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive.', { extra: { ArgumentName: 'x-amz-metadata-directive', ArgumentValue: directive } });
  if (directive === 'COPY' && source.bucket === target.name && source.key === call.address.key) {
    throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
  }
  const replace = directive === 'REPLACE' ? { headers: contentHeadersOf(call.request), userMetadata: userMetadataOf(call.request) } : undefined;
  const record = await call.services.objects.copy(source, target, call.address.key!, call.auth.userId, replace);
  sendXml(call, 200, 'CopyObjectResult', { ETag: record.etag, LastModified: isoTime(record.lastModifiedMs) });
}
