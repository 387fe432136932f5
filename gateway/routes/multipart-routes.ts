// Multipart upload operations: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts.
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { isoTime, parseXml } from '../xml.js';
import { objectBody, readSmallBody } from '../body.js';
import { checksumAlgorithmOf, checksumHeaderName, md5Digest } from '../body-digest.js';
import { sendXml } from './bucket-routes.js';
import { header, type S3Call } from './context.js';
import { contentHeadersOf, parseRange, userMetadataOf } from './object-headers.js';
import { openCopySource } from './object-routes.js';
import type { CompletedPartInput } from '../service/multipart.js';

export async function createMultipartUpload(call: S3Call): Promise<void> {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const algorithm = checksumAlgorithmOf(header(call.request, 'x-amz-checksum-algorithm'));
  const upload = await call.services.multipart.create(call.auth.userId, bucket, call.address.key!, contentHeadersOf(call.request), userMetadataOf(call.request), algorithm);
  if (algorithm) call.reply.header('x-amz-checksum-algorithm', algorithm).header('x-amz-checksum-type', 'COMPOSITE');
  sendXml(call, 200, 'InitiateMultipartUploadResult', { Bucket: bucket.name, Key: upload.key, UploadId: upload.uploadId });
}

async function openUpload(call: S3Call) {
  const bucket = await call.services.buckets.authorize(call.auth.userId, call.address.bucket!);
  const upload = await call.services.multipart.find(bucket.name, call.address.query.get('uploadId') ?? '', call.address.key);
  return { bucket, upload };
}

function partNumberOf(call: S3Call): number {
  const raw = call.address.query.get('partNumber') ?? '';
  const partNumber = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  call.services.multipart.validatePartNumber(partNumber);
  return partNumber;
}

export async function uploadPart(call: S3Call): Promise<void> {
  const partNumber = partNumberOf(call);
  const { bucket, upload } = await openUpload(call);
  const { body, digest, signal } = objectBody(call.request, call.auth, gatewayLimits.partBytesMax);
  const part = await call.services.multipart.uploadPart(call.auth.userId, bucket, upload, partNumber, body, digest, signal);
  if (part.checksum) call.reply.header(checksumHeaderName(part.checksum.algorithm), part.checksum.value);
  call.reply.header('etag', part.etag).code(200).send();
}

export async function uploadPartCopy(call: S3Call): Promise<void> {
  const partNumber = partNumberOf(call);
  const { bucket, upload } = await openUpload(call);
  const source = await openCopySource(call);
  const rangeHeader = header(call.request, 'x-amz-copy-source-range');
  const range = rangeHeader === undefined ? 'whole' : parseRange(rangeHeader, source.record.size);
  if (rangeHeader !== undefined && range === 'whole') throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { extra: { ArgumentName: 'x-amz-copy-source-range' } });
  // A range cuts chunks in the middle, so the bytes are re-chunked: the unchanged ones still dedup.
  const digest = md5Digest(range === 'whole' ? source.record.size : range.endInclusive - range.start + 1);
  const stream = call.services.blobs.read(source.manifest, range === 'whole' ? undefined : range);
  const { written, digest: result } = await call.services.objects.writeBody(call.services.objects.saltIndex(bucket, call.auth.userId), stream, digest);
  const part = await call.services.multipart.commitPart(upload, partNumber, written, result.md5Hex);
  sendXml(call, 200, 'CopyPartResult', { ETag: part.etag, LastModified: isoTime(part.lastModifiedMs) });
}

export async function completeMultipartUpload(call: S3Call): Promise<void> {
  const { bucket, upload } = await openUpload(call);
  const document = parseXml((await readSmallBody(call.request, call.auth)).toString('utf8'), 'CompleteMultipartUpload');
  const parts = document.Part as Record<string, unknown>[] | undefined;
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > gatewayLimits.partNumberMax) throw new S3Error('MalformedXML');
  const requested: CompletedPartInput[] = parts.map((part) => {
    const partNumber = Number(part.PartNumber);
    if (typeof part.ETag !== 'string' || !Number.isInteger(partNumber)) throw new S3Error('MalformedXML');
    const checksum = ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'].map((name) => part[name]).find((value) => typeof value === 'string') as string | undefined;
    return { partNumber, etag: part.ETag, ...(checksum ? { checksum } : {}) };
  });
  const record = await call.services.multipart.complete(call.auth.userId, bucket, upload, requested);
  const checksum = record.checksum ? { [`Checksum${record.checksum.algorithm}`]: record.checksum.value, ChecksumType: record.checksum.type } : {};
  sendXml(call, 200, 'CompleteMultipartUploadResult', {
    Location: `/${bucket.name}/${encodeURIComponent(upload.key)}`, Bucket: bucket.name, Key: upload.key, ETag: record.etag, ...checksum,
  });
}

export async function abortMultipartUpload(call: S3Call): Promise<void> {
  const { upload } = await openUpload(call);
  await call.services.multipart.abort(upload);
  call.reply.code(204).send();
}

export async function listParts(call: S3Call): Promise<void> {
  const { bucket, upload } = await openUpload(call);
  const markerRaw = call.address.query.get('part-number-marker') ?? '0';
  const maxRaw = call.address.query.get('max-parts') ?? String(gatewayLimits.listKeysMax);
  if (!/^\d+$/.test(markerRaw) || !/^\d+$/.test(maxRaw)) throw new S3Error('InvalidArgument', 'Invalid part-number-marker or max-parts');
  const maxParts = Math.min(Number(maxRaw), gatewayLimits.listKeysMax);
  const { parts, isTruncated } = await call.services.multipart.listParts(upload, Math.min(Number(markerRaw), gatewayLimits.partNumberMax), maxParts);
  sendXml(call, 200, 'ListPartsResult', {
    Bucket: bucket.name, Key: upload.key, UploadId: upload.uploadId, PartNumberMarker: Number(markerRaw),
    ...(parts.length ? { NextPartNumberMarker: parts.at(-1)!.partNumber } : {}), MaxParts: maxParts, IsTruncated: isTruncated,
    Initiator: { ID: upload.owner, DisplayName: upload.owner }, Owner: { ID: upload.owner, DisplayName: upload.owner }, StorageClass: 'STANDARD',
    ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm } : {}),
    Part: parts.map((part) => ({
      PartNumber: part.partNumber, LastModified: isoTime(part.lastModifiedMs), ETag: part.etag, Size: part.size,
      ...(part.checksum ? { [`Checksum${part.checksum.algorithm}`]: part.checksum.value } : {}),
    })),
  });
}
