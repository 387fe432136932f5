// Persisted metadata records of the S3 door. Each is a versioned V1 type with its own
// encode/decode (STYLE.md §5); the sealed manifest travels inside as bytes.
import { CairnError } from '../../dedup/errors.js';
import type { SaltPolicyV1 } from '../../dedup/index.js';

export interface BucketRecordV1 {
  version: 1;
  name: string;
  owner: string;
  createdMs: number;
  region: string;
  saltPolicy: SaltPolicyV1;
  /** S3 NotificationConfiguration as parsed JSON (compute triggers), absent when none. */
  notification?: unknown;
  /** Computed-object rules (seed 3), absent when none. */
  computed?: unknown;
}

/** One LambdaFunctionConfiguration of a bucket's notification configuration. */
export interface FunctionNotificationV1 {
  id: string;
  functionArn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

export interface ChecksumValue {
  algorithm: 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
  value: string; // base64, as S3 shows it; composite multipart values end in -N
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

export interface ObjectRecordV1 extends ContentHeaders {
  version: 1;
  size: number;
  etag: string; // with quotes, as sent
  lastModifiedMs: number;
  owner: string;
  userMetadata: Record<string, string>;
  checksum?: ChecksumValue;
  /** Sizes of the parts of a multipart object (PartsCount, GET ?partNumber=). */
  partSizes?: number[];
  sealedManifest: Buffer;
}

export interface UploadRecordV1 extends ContentHeaders {
  version: 1;
  uploadId: string;
  bucket: string;
  key: string;
  owner: string;
  initiatedMs: number;
  userMetadata: Record<string, string>;
  checksumAlgorithm?: ChecksumValue['algorithm'];
}

export interface PartRecordV1 {
  version: 1;
  partNumber: number;
  size: number;
  etag: string;
  lastModifiedMs: number;
  checksum?: ChecksumValue;
  sealedManifest: Buffer;
}

type WithManifest = { sealedManifest: Buffer };

// A record is JSON, but an object's or part's sealed manifest (5.6 MB for a 5 GiB object) follows
// the JSON as raw bytes: as base64 inside the JSON it cost a 7.5 MB string, the JSON text and its
// Buffer at the commit of a big PUT and again at its GET (the peak of a 5 GiB stream's RSS).
// Layout: 0x01 ‖ u32 BE JSON length ‖ JSON ‖ sealed manifest; a record without one is plain JSON.
const withManifestTag = 0x01;
const framedHeaderBytes = 5;

export function encodeRecord<T extends { version: 1 }>(record: T): Buffer {
  if (!('sealedManifest' in record)) return Buffer.from(JSON.stringify(record));
  const manifest = (record as unknown as WithManifest).sealedManifest;
  const json = Buffer.from(JSON.stringify({ ...record, sealedManifest: undefined }));
  const framed = Buffer.allocUnsafe(framedHeaderBytes + json.length + manifest.length);
  framed[0] = withManifestTag;
  framed.writeUInt32BE(json.length, 1);
  json.copy(framed, framedHeaderBytes);
  manifest.copy(framed, framedHeaderBytes + json.length);
  return framed;
}

/** `bytes` must be the caller's own (a MetaStore read is): the manifest is a view of it. */
export function decodeRecord<T extends { version: 1 }>(bytes: Buffer, what: string): T {
  let text: string;
  let manifest: Buffer | undefined;
  if (bytes.length > 0 && bytes[0] === withManifestTag) {
    const jsonBytes = bytes.length >= framedHeaderBytes ? bytes.readUInt32BE(1) : Infinity;
    if (framedHeaderBytes + jsonBytes > bytes.length) throw new CairnError('RecordCorrupt', `${what} record is shorter than its header says`);
    text = bytes.toString('utf8', framedHeaderBytes, framedHeaderBytes + jsonBytes);
    manifest = bytes.subarray(framedHeaderBytes + jsonBytes);
  } else {
    text = bytes.toString('utf8');
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new CairnError('RecordCorrupt', `${what} record is not valid JSON`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object') throw new CairnError('RecordCorrupt', `${what} record is not a JSON object`);
  if (parsed.version !== 1) throw new CairnError('RecordCorrupt', `${what} record has unknown version ${String(parsed.version)}`);
  if (manifest !== undefined) parsed.sealedManifest = manifest;
  else if (typeof parsed.sealedManifest === 'string') parsed.sealedManifest = Buffer.from(parsed.sealedManifest, 'base64'); // before framing
  return parsed as unknown as T;
}
