// Users and their access keys. Secrets are sealed under the master key at rest and held in
// memory for SigV4 (the lookup is synchronous, on every request); they are never logged.
import { randomBytes } from 'node:crypto';
import type { MetaStore } from '../blockstore/meta/index.js';
import { CairnError } from '../dedup/errors.js';
import { openSecret, sealSecret } from './keys.js';

export interface AccessKey { accessKeyId: string; secretAccessKey: string; userId: string }

interface AccessKeyRecordV1 { version: 1; accessKeyId: string; userId: string; sealedSecret: string; createdMs: number }

const keyPrefix = 'k/';
const userNamePattern = /^[A-Za-z0-9_+=,.@-]{1,64}$/;

export class UserRegistry {
  private readonly keys = new Map<string, AccessKey>();

  private constructor(private readonly meta: MetaStore, private readonly masterKey: Buffer) {}

  static async open(meta: MetaStore, masterKey: Buffer): Promise<UserRegistry> {
    const registry = new UserRegistry(meta, masterKey);
    for await (const [, value] of meta.iterate({ gte: keyPrefix, lt: 'k0' })) {
      const record = JSON.parse(value.toString('utf8')) as AccessKeyRecordV1;
      const secretAccessKey = openSecret(masterKey, Buffer.from(record.sealedSecret, 'base64')).toString('utf8');
      registry.keys.set(record.accessKeyId, { accessKeyId: record.accessKeyId, secretAccessKey, userId: record.userId });
    }
    return registry;
  }

  lookup = (accessKeyId: string): { secretAccessKey: string; userId: string } | undefined => this.keys.get(accessKeyId);

  list(): { userId: string; accessKeyId: string }[] {
    return [...this.keys.values()].map(({ userId, accessKeyId }) => ({ userId, accessKeyId }));
  }

  hasUser(userId: string): boolean {
    return [...this.keys.values()].some((key) => key.userId === userId);
  }

  /** Adds a key for `userId`; `fixed` lets the operator choose the pair (root from the environment). */
  async add(userId: string, nowMs: number, fixed?: { accessKeyId: string; secretAccessKey: string }): Promise<AccessKey> {
    if (!userNamePattern.test(userId)) throw new CairnError('InvalidUserName', 'user names are 1–64 of A-Z a-z 0-9 _+=,.@-');
    const accessKeyId = fixed?.accessKeyId ?? 'CK' + randomBytes(12).toString('hex').toUpperCase().slice(0, 18);
    const secretAccessKey = fixed?.secretAccessKey ?? randomBytes(30).toString('base64url');
    if (this.keys.has(accessKeyId)) throw new CairnError('AccessKeyExists', 'that access key id is taken');
    const record: AccessKeyRecordV1 = {
      version: 1, accessKeyId, userId, createdMs: nowMs, sealedSecret: sealSecret(this.masterKey, Buffer.from(secretAccessKey)).toString('base64'),
    };
    await this.meta.batch([{ type: 'put', key: keyPrefix + accessKeyId, value: Buffer.from(JSON.stringify(record)) }]);
    const key = { accessKeyId, secretAccessKey, userId };
    this.keys.set(accessKeyId, key);
    return key;
  }

  rootKey(): AccessKey | undefined {
    return [...this.keys.values()].find((key) => key.userId === 'root');
  }
}
