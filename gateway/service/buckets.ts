// Buckets: a global namespace of names, each with one owner (tenant isolation: every request
// on a bucket by anyone but its owner is AccessDenied).
import type { MetaOp, MetaStore } from '../../blockstore/meta/index.js';
import { defaultSaltPolicy, type SaltPolicyV1 } from '../../dedup/index.js';
import { S3Error } from '../s3-errors.js';
import { gatewayLimits } from '../limits.js';
import { bucketKey, bucketPrefix, objectPrefix, uploadPrefix, prefixEnd } from './keys.js';
import { decodeRecord, encodeRecord, type BucketRecordV1 } from './records.js';

// S3 "Bucket naming rules" (general purpose buckets).
const bucketNamePattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(name: string): void {
  const bad = !bucketNamePattern.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)
    || name.startsWith('xn--') || name.startsWith('sthree-') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')
    || name.includes('.-') || name.includes('-.');
  if (bad) throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { resource: name, extra: { BucketName: name } });
}

/**
 * Every S3 request authorizes against its bucket's record, so records are cached (decoded, and
 * frozen: callers share them). Every write of a b/ key goes through this service, which drops
 * the name from the cache and bumps `writes` before and after the batch: a read that overlapped
 * a write may return either version but never caches it, so the cache never serves a record
 * older than the last completed write.
 */
export class BucketService {
  private readonly cache = new Map<string, BucketRecordV1>();
  private writes = 0;

  constructor(private readonly meta: MetaStore, private readonly clock: () => number, private readonly region: string) {}

  async create(owner: string, name: string, location?: string): Promise<BucketRecordV1> {
    validateBucketName(name);
    if (location !== undefined && location !== '' && location !== this.region) {
      throw new S3Error('IllegalLocationConstraintException', `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`);
    }
    const existing = await this.find(name);
    if (existing) {
      throw existing.owner === owner
        ? new S3Error('BucketAlreadyOwnedByYou', undefined, { resource: name, extra: { BucketName: name } })
        : new S3Error('BucketAlreadyExists', undefined, { resource: name, extra: { BucketName: name } });
    }
    const record: BucketRecordV1 = { version: 1, name, owner, createdMs: this.clock(), region: this.region, saltPolicy: defaultSaltPolicy };
    await this.write(name, { type: 'put', key: bucketKey(name), value: encodeRecord(record) });
    return record;
  }

  async find(name: string): Promise<BucketRecordV1 | undefined> {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const writesBefore = this.writes;
    const bytes = await this.meta.get(bucketKey(name));
    if (bytes === undefined) return undefined;
    const record = Object.freeze(decodeRecord<BucketRecordV1>(bytes, 'bucket'));
    if (this.writes === writesBefore) {
      if (this.cache.size >= gatewayLimits.bucketRecordsCachedMax) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(name, record);
    }
    return record;
  }

  private async write(name: string, op: MetaOp): Promise<void> {
    this.writes++;
    this.cache.delete(name);
    try {
      await this.meta.batch([op]);
    } finally {
      this.writes++;
      this.cache.delete(name);
    }
  }

  /** The bucket if `user` owns it; NoSuchBucket / AccessDenied otherwise. */
  async authorize(user: string, name: string): Promise<BucketRecordV1> {
    const record = await this.find(name);
    if (!record) throw new S3Error('NoSuchBucket', undefined, { resource: name, extra: { BucketName: name } });
    if (record.owner !== user) throw new S3Error('AccessDenied', undefined, { resource: name });
    return record;
  }

  async list(owner: string): Promise<BucketRecordV1[]> {
    const buckets: BucketRecordV1[] = [];
    for await (const [, value] of this.meta.iterate({ gte: bucketPrefix, lt: prefixEnd(bucketPrefix) })) {
      const record = decodeRecord<BucketRecordV1>(value, 'bucket');
      if (record.owner === owner) buckets.push(record);
    }
    return buckets;
  }

  async delete(user: string, name: string): Promise<void> {
    await this.authorize(user, name);
    if (await this.hasAny(objectPrefix(name)) || await this.hasAny(uploadPrefix(name))) {
      throw new S3Error('BucketNotEmpty', undefined, { resource: name, extra: { BucketName: name } });
    }
    await this.write(name, { type: 'del', key: bucketKey(name) });
  }

  async update(record: BucketRecordV1): Promise<void> {
    await this.write(record.name, { type: 'put', key: bucketKey(record.name), value: encodeRecord(record) });
  }

  async setSaltPolicy(name: string, policy: SaltPolicyV1): Promise<BucketRecordV1> {
    const record = await this.find(name);
    if (!record) throw new S3Error('NoSuchBucket', undefined, { resource: name });
    const updated = { ...record, saltPolicy: policy };
    await this.update(updated);
    return updated;
  }

  private async hasAny(prefix: string): Promise<boolean> {
    for await (const _ of this.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), limit: 1 })) return true;
    return false;
  }
}
