// Method: properties of salt selection over seeded populations of users, times and locations
// (indices stay in [0, R), every index is reachable, choices are stable), salt derivation
// recomputed from its HMAC definition with @noble, and validation/decoding of hostile documents.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CairnError } from './errors.js';
import {
  type SaltPolicyV1, decodeSaltPolicy, defaultSaltPolicy, deriveSalt, encodeSaltPolicy, saltIndexFor, validateSaltPolicy,
} from './salt-policy.js';
import { SplitMix32 } from './splitmix32.js';
import { codeOf } from './error-code-of.test-support.js';

const context = { userId: 'alice', timeMs: 1_700_000_000_000, location: 'eu-west-1a' };


describe('saltIndexFor', () => {
  it('maps R+5 users into at most R indices, the same user always to the same index', () => {
    for (const salts of [1, 2, 3, 8]) {
      const policy: SaltPolicyV1 = { version: 1, salts, by: 'user', windowSeconds: 60 };
      const indices = new Set<number>();
      for (let u = 0; u < salts + 5; u++) {
        const index = saltIndexFor(policy, { ...context, userId: `user-${u}` });
        expect(index).toBe(saltIndexFor(policy, { ...context, userId: `user-${u}` }));
        indices.add(index);
      }
      expect(indices.size).toBeLessThanOrEqual(salts);
      [...indices].forEach((index) => expect(index >= 0 && index < salts).toBe(true));
    }
  });

  it('reaches all R indices with enough users, and R = 1 always gives 0', () => {
    const policy: SaltPolicyV1 = { version: 1, salts: 16, by: 'user', windowSeconds: 60 };
    const indices = new Set<number>();
    for (let u = 0; u < 400; u++) indices.add(saltIndexFor(policy, { ...context, userId: `u${u}` }));
    expect(indices.size).toBe(16);
    expect(saltIndexFor(defaultSaltPolicy, context)).toBe(0);
  });

  it('changes the time index once per window and cycles through R windows', () => {
    const policy: SaltPolicyV1 = { version: 1, salts: 4, by: 'time', windowSeconds: 3600 };
    const hour = 3_600_000;
    const base = 10 * hour;
    expect(saltIndexFor(policy, { ...context, timeMs: base })).toBe(saltIndexFor(policy, { ...context, timeMs: base + hour - 1 }));
    const cycle = [0, 1, 2, 3, 4].map((k) => saltIndexFor(policy, { ...context, timeMs: base + k * hour }));
    expect(new Set(cycle.slice(0, 4)).size).toBe(4);
    expect(cycle[4]).toBe(cycle[0]);
    expect(cycle[0]).toBe(10 % 4);
  });

  it('spreads seeded random location labels over all R indices, stable per label', () => {
    const random = new SplitMix32(21);
    const policy: SaltPolicyV1 = { version: 1, salts: 5, by: 'location', windowSeconds: 60 };
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const location = `zone-${random.nextUint32().toString(36)}`;
      const index = saltIndexFor(policy, { ...context, location });
      expect(saltIndexFor(policy, { ...context, userId: 'someone-else', location })).toBe(index);
      seen.add(index);
    }
    expect(seen.size).toBe(5);
  });
});

describe('deriveSalt', () => {
  const secret = new SplitMix32(22).bytes(32);
  it('is HMAC-SHA256(secret, "cairn salt v1" ‖ u32be(index))', () => {
    const expected = hmac(sha256, secret, Buffer.concat([Buffer.from('cairn salt v1'), Buffer.from([0, 0, 0, 7])]));
    expect(deriveSalt(secret, 7).equals(Buffer.from(expected))).toBe(true);
  });
  it('gives distinct salts per index and per secret, equal for equal inputs', () => {
    const salts = new Set([0, 1, 2, 63].map((i) => deriveSalt(secret, i).toString('hex')));
    expect(salts.size).toBe(4);
    expect(deriveSalt(secret, 1).equals(deriveSalt(Buffer.from(secret), 1))).toBe(true);
    expect(deriveSalt(new SplitMix32(23).bytes(32), 1).equals(deriveSalt(secret, 1))).toBe(false);
  });
});

describe('salt policy documents', () => {
  it('round-trips through JSON', () => {
    const policy: SaltPolicyV1 = { version: 1, salts: 3, by: 'time', windowSeconds: 86_400 };
    expect(decodeSaltPolicy(JSON.parse(JSON.stringify(encodeSaltPolicy(policy))))).toEqual(policy);
  });

  it.each([
    null, [], 'x', 7,
    { version: 2, salts: 1, by: 'user', windowSeconds: 1 },
    { version: 1, salts: 0, by: 'user', windowSeconds: 1 },
    { version: 1, salts: 65, by: 'user', windowSeconds: 1 },
    { version: 1, salts: 1.5, by: 'user', windowSeconds: 1 },
    { version: 1, salts: 2, by: 'planet', windowSeconds: 1 },
    { version: 1, salts: 2, by: 'time', windowSeconds: 0 },
    { version: 1, salts: 2, by: 'time', windowSeconds: 1e12 },
    { version: 1, salts: 2, by: 'time', windowSeconds: '60' },
    { version: 1, salts: 2, by: 'time', windowSeconds: 60, extra: true },
    { version: 1, salts: 2, by: 'time' },
  ])('rejects %j with InvalidSaltPolicy', (document) => {
    expect(codeOf(() => decodeSaltPolicy(document))).toBe('InvalidSaltPolicy');
  });

  it('validates the default policy', () => {
    expect(() => validateSaltPolicy(defaultSaltPolicy)).not.toThrow();
  });
});
