// Seed 7, scoped credentials: each triggered invocation gets a temporary access key for the
// function's owner, usable only on the trigger's bucket and only until the invocation ends (or
// its deadline passes). Kept in memory only: a restart revokes every one, which is the point.
import { randomBytes } from 'node:crypto';
import { assert } from '../../dedup/errors.js';
import { scopedCredentialTtlMsMax } from '../limits.js';

export interface ScopedCredential {
  accessKeyId: string;
  secretAccessKey: string;
  userId: string;
  bucket: string;
  expiresMs: number;
}

export class ScopedCredentials {
  private readonly live = new Map<string, ScopedCredential>();

  constructor(private readonly clock: () => number) {}

  mint(userId: string, bucket: string, ttlMs: number): ScopedCredential {
    assert(ttlMs > 0 && ttlMs <= scopedCredentialTtlMsMax, 'scoped credential lifetime in bounds');
    const credential: ScopedCredential = {
      accessKeyId: 'CT' + randomBytes(9).toString('hex').toUpperCase(), secretAccessKey: randomBytes(30).toString('base64url'),
      userId, bucket, expiresMs: this.clock() + ttlMs,
    };
    this.live.set(credential.accessKeyId, credential);
    return credential;
  }

  revoke(accessKeyId: string): void {
    this.live.delete(accessKeyId);
  }

  /** For the SigV4 lookup chain: undefined once revoked or expired. */
  lookup = (accessKeyId: string): { secretAccessKey: string; userId: string } | undefined => {
    const credential = this.live.get(accessKeyId);
    if (!credential) return undefined;
    if (credential.expiresMs <= this.clock()) {
      this.live.delete(accessKeyId);
      return undefined;
    }
    return { secretAccessKey: credential.secretAccessKey, userId: credential.userId };
  };

  /** The one bucket a scoped key may touch; undefined for ordinary (unscoped) keys. */
  bucketOf = (accessKeyId: string): string | undefined => this.live.get(accessKeyId)?.bucket;

  get size(): number {
    return this.live.size;
  }
}
