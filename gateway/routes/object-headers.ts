// Headers an S3 object carries in and out: content headers, x-amz-meta-*, conditionals, ranges.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { S3Error } from '../s3-errors.js';
import type { ContentHeaders, ObjectRecordV1 } from '../service/records.js';
import { header } from './context.js';

const contentHeaderNames: Record<keyof ContentHeaders, string> = {
  contentType: 'content-type', contentEncoding: 'content-encoding', contentDisposition: 'content-disposition',
  contentLanguage: 'content-language', cacheControl: 'cache-control', expires: 'expires',
};

export function contentHeadersOf(request: FastifyRequest): ContentHeaders {
  const headers: ContentHeaders = {};
  for (const [field, name] of Object.entries(contentHeaderNames) as [keyof ContentHeaders, string][]) {
    let value = header(request, name);
    // aws-chunked is a transfer detail of the upload, not part of the stored object (S3 strips it).
    if (field === 'contentEncoding' && value) value = value.split(',').map((part) => part.trim()).filter((part) => part !== 'aws-chunked').join(',') || undefined;
    if (value !== undefined) headers[field] = value;
  }
  return headers;
}

export function userMetadataOf(request: FastifyRequest): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return metadata;
}

const overrides: Record<string, string> = {
  'response-content-type': 'content-type', 'response-content-language': 'content-language', 'response-expires': 'expires',
  'response-cache-control': 'cache-control', 'response-content-disposition': 'content-disposition', 'response-content-encoding': 'content-encoding',
};

export function sendObjectHeaders(reply: FastifyReply, record: ObjectRecordV1, query: Map<string, string>): void {
  reply.header('etag', record.etag).header('last-modified', new Date(record.lastModifiedMs).toUTCString()).header('accept-ranges', 'bytes');
  reply.header('content-type', record.contentType ?? 'binary/octet-stream');
  for (const [field, name] of Object.entries(contentHeaderNames) as [keyof ContentHeaders, string][]) {
    const value = record[field];
    if (value !== undefined && field !== 'contentType') reply.header(name, value);
  }
  for (const [name, value] of Object.entries(record.userMetadata)) reply.header(`x-amz-meta-${name}`, value);
  for (const [parameter, name] of Object.entries(overrides)) {
    const value = query.get(parameter);
    if (value !== undefined) reply.header(name, value);
  }
}

export type Precondition = 'ok' | 'not-modified' | 'failed';

/** RFC 7232 §6 order, with S3's documented pairings (GetObject, "Conditional requests"). */
export function evaluatePreconditions(request: FastifyRequest, record: ObjectRecordV1, prefix = ''): Precondition {
  const ifMatch = header(request, `${prefix}if-match`);
  const ifNoneMatch = header(request, `${prefix}if-none-match`);
  const ifModifiedSince = parseHttpDate(header(request, `${prefix}if-modified-since`));
  const ifUnmodifiedSince = parseHttpDate(header(request, `${prefix}if-unmodified-since`));
  const modifiedSeconds = Math.floor(record.lastModifiedMs / 1000);
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, record.etag)) return 'failed';
  } else if (ifUnmodifiedSince !== undefined && modifiedSeconds > ifUnmodifiedSince) {
    return 'failed';
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, record.etag)) return 'not-modified';
  } else if (ifModifiedSince !== undefined && modifiedSeconds <= ifModifiedSince) {
    return 'not-modified';
  }
  return 'ok';
}

function etagListMatches(list: string, etag: string): boolean {
  const bare = etag.replaceAll('"', '');
  return list.split(',').some((item) => {
    const candidate = item.trim().replace(/^W\//, '').replaceAll('"', '');
    return candidate === '*' || candidate === bare;
  });
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export type RangeRequest = { start: number; endInclusive: number } | 'whole';

/** RFC 7233 byte ranges, one range only (S3 does not serve multipart/byteranges). */
export function parseRange(value: string | undefined, size: number): RangeRequest {
  if (value === undefined) return 'whole';
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'whole'; // unparsable: ignored, as HTTP says
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw invalidRange(size);
    return size === 0 ? invalidRangeOrWhole(size) : { start: Math.max(0, size - suffix), endInclusive: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return 'whole';
  if (start >= size) throw invalidRange(size);
  return { start, endInclusive: end };
}

function invalidRangeOrWhole(size: number): RangeRequest {
  throw invalidRange(size);
}

function invalidRange(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { extra: { RangeRequested: 'bytes', ActualObjectSize: String(size) } });
}
