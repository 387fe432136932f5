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

/** JSON with the manifest as base64: records are small except for the manifest itself. */
export function encodeRecord<T extends { version: 1 }>(record: T): Buffer {
  const plain = { ...record } as Record<string, unknown>;
  if ('sealedManifest' in plain) plain.sealedManifest = (record as unknown as WithManifest).sealedManifest.toString('base64');
  return Buffer.from(JSON.stringify(plain));
}

export function decodeRecord<T extends { version: 1 }>(bytes: Buffer, what: string): T {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new CairnError('RecordCorrupt', `${what} record is not valid JSON`, { cause: error });
  }
  if (parsed.version !== 1) throw new CairnError('RecordCorrupt', `${what} record has unknown version ${String(parsed.version)}`);
  if (typeof parsed.sealedManifest === 'string') parsed.sealedManifest = Buffer.from(parsed.sealedManifest, 'base64');
  return parsed as unknown as T;
}
