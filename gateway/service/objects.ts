// Objects: PUT streams through the blob store and becomes visible in one atomic MetaStore batch
// that also carries the chunks' reference changes (a reader sees the old or the new object,
// never a mix; an overwrite or delete drops the old version's references so GC frees them).
import type { MetaOp } from '../../blockstore/meta/index.js';
import { BlobStore, refDeltasOf, type WrittenBlob } from '../../blockstore/blobs/index.js';
import { saltIndexFor, type ChunkId, type ManifestV1 } from '../../dedup/index.js';
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { KeyedMutex } from './keyed-mutex.js';
import { objectKey } from './keys.js';
import { decodeRecord, encodeRecord, type BucketRecordV1, type ChecksumValue, type ContentHeaders, type ObjectRecordV1 } from './records.js';
import type { MetaStore } from '../../blockstore/meta/index.js';

export interface DigestResult { md5Hex: string; checksum?: ChecksumValue }

/**
 * Hashes a body as it streams; finish() rejects with the S3 error for a digest that does not
 * match. update() copies what it keeps, and returns a promise when the writer must wait before
 * the next piece (hashing off-thread is behind: bounded memory). A digest that will not be
 * finished (the upload failed) must be abandoned.
 */
export interface BodyDigest {
  update(piece: Buffer): Promise<void> | void;
  finish(): Promise<DigestResult>;
  abandon(): void;
}

export type ObjectEventName = 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectRemoved:Delete';

export interface ObjectEvent {
  name: ObjectEventName;
  bucket: BucketRecordV1;
  key: string;
  size: number;
  etag: string;
  timeMs: number;
  user: string;
}

/** Lets the compute tier enqueue trigger events in the same batch that makes a change visible. */
export interface ObjectEventSink {
  opsFor(event: ObjectEvent): MetaOp[];
  committed(event: ObjectEvent): void;
}

export interface ObjectServiceDeps {
  meta: MetaStore;
  blobs: BlobStore;
  clock: () => number;
  /** This node's location label, for location-based salt policies. */
  location: string;
  events?: ObjectEventSink;
  /** A full GC, where the runtime offers one: asked for around the commit of a large object. */
  collectGarbage?: () => void;
}

export interface PutInput {
  user: string;
  bucket: BucketRecordV1;
  key: string;
  body: AsyncIterable<Buffer>;
  digest: BodyDigest;
  headers: ContentHeaders;
  userMetadata: Record<string, string>;
  /** If-None-Match: * — fail with PreconditionFailed when the key exists at commit time. */
  ifNoneMatch?: boolean;
  signal?: AbortSignal;
}

export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'Object key must not be empty.');
  if (Buffer.byteLength(key) > gatewayLimits.objectKeyBytesMax) throw new S3Error('KeyTooLongError', undefined, { resource: key });
}

export function validateUserMetadata(metadata: Record<string, string>): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  if (bytes > gatewayLimits.userMetadataBytesMax) throw new S3Error('MetadataTooLarge');
}

export class ObjectService {
  readonly locks = new KeyedMutex();

  constructor(private readonly deps: ObjectServiceDeps) {}

  saltIndex(bucket: BucketRecordV1, user: string): number {
    return saltIndexFor(bucket.saltPolicy, { userId: user, timeMs: this.deps.clock(), location: this.deps.location });
  }

  /**
   * Streams a body into the blob store while `digest` hashes it. Resolves once the chunks are
   * durable and the digest matched; otherwise the written chunks are abandoned (a digest
   * mismatch) or the digest is (a failed write), and the error is thrown.
   */
  async writeBody(saltIndex: number, body: AsyncIterable<Buffer>, digest: BodyDigest, signal?: AbortSignal): Promise<{ written: WrittenBlob; digest: DigestResult }> {
    let written: WrittenBlob;
    try {
      written = await this.deps.blobs.write(body, { saltIndex, onData: (piece) => digest.update(piece), signal });
    } catch (error) {
      digest.abandon();
      throw error;
    }
    try {
      return { written, digest: await digest.finish() };
    } catch (error) {
      this.deps.blobs.abandon(written);
      throw error;
    }
  }

  async put(input: PutInput): Promise<ObjectRecordV1> {
    validateObjectKey(input.key);
    validateUserMetadata(input.userMetadata);
    const { written, digest } = await this.writeBody(this.saltIndex(input.bucket, input.user), input.body, input.digest, input.signal);
    const record: ObjectRecordV1 = {
      version: 1, size: written.manifest.size, etag: `"${digest.md5Hex}"`, lastModifiedMs: this.deps.clock(),
      owner: input.user, userMetadata: input.userMetadata, ...input.headers,
      ...(digest.checksum ? { checksum: digest.checksum } : {}),
      sealedManifest: this.deps.blobs.sealManifest(written.manifest),
    };
    await this.commitObject(input.bucket, input.key, record, written, 'ObjectCreated:Put', input.user, input.ifNoneMatch);
    return record;
  }

  /** Make `record` the visible version of `key`, dropping the old version's references. */
  async commitObject(bucket: BucketRecordV1, key: string, record: ObjectRecordV1, written: WrittenBlob | undefined,
    eventName: ObjectEventName, user: string, ifNoneMatch = false, extraOps: MetaOp[] = [], extraDeltas?: Map<ChunkId, number>): Promise<void> {
    try {
      await this.locks.run(`${bucket.name}/${key}`, async () => {
        const old = await this.find(bucket.name, key);
        if (ifNoneMatch && old) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: 'If-None-Match' } });
        const deltas = new Map<ChunkId, number>(written?.refDeltas ?? []);
        if (extraDeltas) for (const [id, delta] of extraDeltas) deltas.set(id, (deltas.get(id) ?? 0) + delta);
        if (old) refDeltasOf(this.deps.blobs.openManifest(old.sealedManifest), -1, deltas);
        const event: ObjectEvent = { name: eventName, bucket, key, size: record.size, etag: record.etag, timeMs: record.lastModifiedMs, user };
        const ops: MetaOp[] = [{ type: 'put', key: objectKey(bucket.name, key), value: encodeRecord(record) }, ...extraOps, ...this.eventOps(event)];
        // A large object's transfer leaves promoted garbage in V8's old generation, and its commit
        // (a count update per chunk) adds ~400 B an id on top: collected before, the commit's
        // transient starts from what is live; after, it does not linger (gatewayLimits).
        const large = record.size >= gatewayLimits.collectGarbageBytes;
        if (large) this.deps.collectGarbage?.();
        await this.deps.blobs.chunks.commit(deltas, ops);
        if (large) this.deps.collectGarbage?.();
        this.deps.events?.committed(event);
      });
    } catch (error) {
      if (written) this.deps.blobs.abandon(written);
      throw error;
    }
  }

  async find(bucket: string, key: string): Promise<ObjectRecordV1 | undefined> {
    const bytes = await this.deps.meta.get(objectKey(bucket, key));
    return bytes ? decodeRecord<ObjectRecordV1>(bytes, 'object') : undefined;
  }

  async open(bucket: string, key: string): Promise<{ record: ObjectRecordV1; manifest: ManifestV1 }> {
    validateObjectKey(key);
    const record = await this.find(bucket, key);
    if (!record) throw new S3Error('NoSuchKey', undefined, { resource: key, extra: { Key: key } });
    return { record, manifest: this.deps.blobs.openManifest(record.sealedManifest) };
  }

  /** S3 DeleteObject succeeds whether or not the key existed. */
  async delete(bucket: BucketRecordV1, key: string, user: string): Promise<boolean> {
    validateObjectKey(key);
    return this.locks.run(`${bucket.name}/${key}`, async () => {
      const old = await this.find(bucket.name, key);
      if (!old) return false;
      const deltas = refDeltasOf(this.deps.blobs.openManifest(old.sealedManifest), -1);
      const event: ObjectEvent = { name: 'ObjectRemoved:Delete', bucket, key, size: old.size, etag: old.etag, timeMs: this.deps.clock(), user };
      await this.deps.blobs.chunks.commit(deltas, [{ type: 'del', key: objectKey(bucket.name, key) }, ...this.eventOps(event)]);
      this.deps.events?.committed(event);
      return true;
    });
  }

  /** Copy without moving data: the target shares the source's chunks (one more reference each). */
  async copy(source: { record: ObjectRecordV1; manifest: ManifestV1 }, target: BucketRecordV1, key: string, user: string,
    replace: { headers: ContentHeaders; userMetadata: Record<string, string> } | undefined): Promise<ObjectRecordV1> {
    validateObjectKey(key);
    const record: ObjectRecordV1 = {
      ...source.record, lastModifiedMs: this.deps.clock(), owner: user,
      ...(replace ? { ...clearedHeaders, ...replace.headers, userMetadata: replace.userMetadata } : {}),
      sealedManifest: this.deps.blobs.sealManifest(source.manifest),
    };
    if (replace) validateUserMetadata(replace.userMetadata);
    await this.commitObject(target, key, record, undefined, 'ObjectCreated:Copy', user, false, [], refDeltasOf(source.manifest, 1));
    return record;
  }

  private eventOps(event: ObjectEvent): MetaOp[] {
    return this.deps.events?.opsFor(event) ?? [];
  }
}

const clearedHeaders: ContentHeaders = {
  contentType: undefined, contentEncoding: undefined, contentDisposition: undefined,
  contentLanguage: undefined, cacheControl: undefined, expires: undefined,
};
