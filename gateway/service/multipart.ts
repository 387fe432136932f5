// Multipart uploads. Each part is its own blob, committed with its own references; completion
// concatenates the parts' manifests (no data moves) and, in the same batch, makes the object
// visible and drops every part record. Abort drops the parts' references so GC frees them.
import { createHash } from 'node:crypto';
import type { MetaOp, MetaStore } from '../../blockstore/meta/index.js';
import { BlobStore, concatManifests, refDeltasOf, type WrittenBlob } from '../../blockstore/blobs/index.js';
import type { ChunkId, ManifestV1 } from '../../dedup/index.js';
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { KeyedMutex } from './keyed-mutex.js';
import { partKey, partPrefix, prefixEnd, uploadKey } from './keys.js';
import { decodeRecord, encodeRecord, type BucketRecordV1, type ChecksumValue, type ContentHeaders, type ObjectRecordV1, type PartRecordV1, type UploadRecordV1 } from './records.js';
import { validateObjectKey, validateUserMetadata, type BodyDigest, type ObjectService } from './objects.js';
import { compositeChecksum } from '../checksums/index.js';

export interface MultipartDeps {
  meta: MetaStore;
  blobs: BlobStore;
  objects: ObjectService;
  clock: () => number;
  newUploadId: () => string;
  /** Seed 16 pre-trigger: an upload began, so functions its completion will fire can warm up. */
  prewarm?: (bucket: BucketRecordV1, key: string) => void;
}

export interface CompletedPartInput { partNumber: number; etag: string; checksum?: string }

export class MultipartService {
  private readonly locks = new KeyedMutex();

  constructor(private readonly deps: MultipartDeps) {}

  async create(user: string, bucket: BucketRecordV1, key: string, headers: ContentHeaders, userMetadata: Record<string, string>,
    checksumAlgorithm?: ChecksumValue['algorithm']): Promise<UploadRecordV1> {
    validateObjectKey(key);
    validateUserMetadata(userMetadata);
    const record: UploadRecordV1 = {
      version: 1, uploadId: this.deps.newUploadId(), bucket: bucket.name, key, owner: user, initiatedMs: this.deps.clock(),
      userMetadata, ...headers, ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
    };
    await this.deps.meta.batch([{ type: 'put', key: uploadKey(bucket.name, record.uploadId), value: encodeRecord(record) }]);
    this.deps.prewarm?.(bucket, key);
    return record;
  }

  async find(bucket: string, uploadId: string, key?: string): Promise<UploadRecordV1> {
    const bytes = /^[A-Za-z0-9_-]{1,128}$/.test(uploadId) ? await this.deps.meta.get(uploadKey(bucket, uploadId)) : undefined;
    const record = bytes ? decodeRecord<UploadRecordV1>(bytes, 'upload') : undefined;
    if (!record || (key !== undefined && record.key !== key)) {
      throw new S3Error('NoSuchUpload', undefined, { extra: { UploadId: uploadId } });
    }
    return record;
  }

  validatePartNumber(partNumber: number): void {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > gatewayLimits.partNumberMax) {
      throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${gatewayLimits.partNumberMax}, inclusive`,
        { extra: { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) } });
    }
  }

  async uploadPart(user: string, bucket: BucketRecordV1, upload: UploadRecordV1, partNumber: number, body: AsyncIterable<Buffer>,
    digest: BodyDigest, signal?: AbortSignal): Promise<PartRecordV1> {
    this.validatePartNumber(partNumber);
    const { written, digest: result } = await this.deps.objects.writeBody(this.deps.objects.saltIndex(bucket, user), body, digest, signal);
    return this.commitPart(upload, partNumber, written, result.md5Hex, result.checksum);
  }

  async commitPart(upload: UploadRecordV1, partNumber: number, written: WrittenBlob, md5Hex: string, checksum?: ChecksumValue): Promise<PartRecordV1> {
    const record: PartRecordV1 = {
      version: 1, partNumber, size: written.manifest.size, etag: `"${md5Hex}"`, lastModifiedMs: this.deps.clock(),
      ...(checksum ? { checksum } : {}), sealedManifest: this.deps.blobs.sealManifest(written.manifest),
    };
    try {
      await this.locks.run(upload.uploadId, async () => {
        await this.find(upload.bucket, upload.uploadId); // aborted or completed meanwhile?
        const deltas = new Map(written.refDeltas);
        const oldBytes = await this.deps.meta.get(partKey(upload.uploadId, partNumber));
        if (oldBytes) refDeltasOf(this.deps.blobs.openManifest(decodeRecord<PartRecordV1>(oldBytes, 'part').sealedManifest), -1, deltas);
        await this.deps.blobs.chunks.commit(deltas, [{ type: 'put', key: partKey(upload.uploadId, partNumber), value: encodeRecord(record) }]);
      });
    } catch (error) {
      this.deps.blobs.abandon(written);
      throw error;
    }
    return record;
  }

  async listParts(upload: UploadRecordV1, after = 0, maxParts: number = gatewayLimits.listKeysMax): Promise<{ parts: PartRecordV1[]; isTruncated: boolean }> {
    const parts: PartRecordV1[] = [];
    const range = { gt: partKey(upload.uploadId, after), lt: prefixEnd(partPrefix(upload.uploadId)), limit: maxParts + 1 };
    for await (const [, value] of this.deps.meta.iterate(range)) parts.push(decodeRecord<PartRecordV1>(value, 'part'));
    const isTruncated = parts.length > maxParts;
    return { parts: parts.slice(0, maxParts), isTruncated };
  }

  async complete(user: string, bucket: BucketRecordV1, upload: UploadRecordV1, requested: readonly CompletedPartInput[]): Promise<ObjectRecordV1> {
    if (requested.length === 0) throw new S3Error('MalformedXML', 'You must specify at least one part');
    return this.locks.run(upload.uploadId, async () => {
      await this.find(upload.bucket, upload.uploadId);
      const stored = await this.allParts(upload.uploadId);
      const chosen = this.chooseParts(stored, requested);
      const manifests = chosen.map((part) => this.deps.blobs.openManifest(part.sealedManifest));
      const manifest: ManifestV1 = concatManifests(manifests);
      const md5s = Buffer.concat(chosen.map((part) => Buffer.from(part.etag.replaceAll('"', ''), 'hex')));
      const record: ObjectRecordV1 = {
        version: 1, size: manifest.size, etag: `"${createHash('md5').update(md5s).digest('hex')}-${chosen.length}"`,
        lastModifiedMs: this.deps.clock(), owner: user, userMetadata: upload.userMetadata,
        ...pickHeaders(upload), partSizes: chosen.map((part) => part.size),
        ...this.objectChecksum(upload, chosen), sealedManifest: this.deps.blobs.sealManifest(manifest),
      };
      // The object takes one reference per entry; every stored part (chosen or not) gives its up.
      const deltas = refDeltasOf(manifest, 1);
      const ops: MetaOp[] = [{ type: 'del', key: uploadKey(upload.bucket, upload.uploadId) }];
      for (const part of stored.values()) {
        refDeltasOf(this.deps.blobs.openManifest(part.sealedManifest), -1, deltas);
        ops.push({ type: 'del', key: partKey(upload.uploadId, part.partNumber) });
      }
      await this.deps.objects.commitObject(bucket, upload.key, record, undefined, 'ObjectCreated:CompleteMultipartUpload', user, false, ops, dropZeros(deltas));
      return record;
    });
  }

  async abort(upload: UploadRecordV1): Promise<void> {
    await this.locks.run(upload.uploadId, async () => {
      await this.find(upload.bucket, upload.uploadId);
      const deltas = new Map<ChunkId, number>();
      const ops: MetaOp[] = [{ type: 'del', key: uploadKey(upload.bucket, upload.uploadId) }];
      for (const part of (await this.allParts(upload.uploadId)).values()) {
        refDeltasOf(this.deps.blobs.openManifest(part.sealedManifest), -1, deltas);
        ops.push({ type: 'del', key: partKey(upload.uploadId, part.partNumber) });
      }
      await this.deps.blobs.chunks.commit(deltas, ops);
    });
  }

  private async allParts(uploadId: string): Promise<Map<number, PartRecordV1>> {
    const parts = new Map<number, PartRecordV1>();
    for await (const [, value] of this.deps.meta.iterate({ gte: partPrefix(uploadId), lt: prefixEnd(partPrefix(uploadId)) })) {
      const part = decodeRecord<PartRecordV1>(value, 'part');
      parts.set(part.partNumber, part);
    }
    return parts;
  }

  private chooseParts(stored: Map<number, PartRecordV1>, requested: readonly CompletedPartInput[]): PartRecordV1[] {
    // The order of the whole list is checked before any part: a list that is out of order is
    // InvalidPartOrder even when a small part comes first (CompleteMultipartUpload, "Errors").
    for (let index = 1; index < requested.length; index++) {
      if (requested[index].partNumber <= requested[index - 1].partNumber) throw new S3Error('InvalidPartOrder');
    }
    const chosen: PartRecordV1[] = [];
    for (const [index, want] of requested.entries()) {
      const part = stored.get(want.partNumber);
      const etag = want.etag.startsWith('"') ? want.etag : `"${want.etag}"`;
      if (!part || part.etag !== etag) throw new S3Error('InvalidPart', undefined, { extra: { PartNumber: String(want.partNumber), ETag: want.etag } });
      if (want.checksum !== undefined && part.checksum && part.checksum.value !== want.checksum) throw new S3Error('InvalidPart', 'Part checksum differs');
      if (index < requested.length - 1 && part.size < gatewayLimits.partBytesMin) {
        throw new S3Error('EntityTooSmall', undefined, { extra: { ProposedSize: String(part.size), MinSizeAllowed: String(gatewayLimits.partBytesMin), PartNumber: String(part.partNumber), ETag: part.etag } });
      }
      chosen.push(part);
    }
    return chosen;
  }

  /** S3's composite checksum: the checksum of the parts' checksums, suffixed -N. */
  private objectChecksum(upload: UploadRecordV1, parts: PartRecordV1[]): { checksum?: ChecksumValue } {
    const algorithm = upload.checksumAlgorithm;
    if (!algorithm || parts.some((part) => part.checksum?.algorithm !== algorithm)) return {};
    const value = compositeChecksum(algorithm, parts.map((part) => Buffer.from(part.checksum!.value, 'base64')));
    return { checksum: { algorithm, value: `${value}-${parts.length}`, type: 'COMPOSITE' } };
  }
}

function pickHeaders(source: ContentHeaders): ContentHeaders {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires } = source;
  return Object.fromEntries(Object.entries({ contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires })
    .filter(([, value]) => value !== undefined));
}

function dropZeros(deltas: Map<ChunkId, number>): Map<ChunkId, number> {
  for (const [id, delta] of deltas) if (delta === 0) deltas.delete(id);
  return deltas;
}
