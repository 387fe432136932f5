// Salted redundancy (SEEDS.md row 2): a chunk's convergent key is H(salt_i ‖ plaintext) with
// i ∈ [0, R) chosen per write by user, time or location, so popular content exists as at most
// R distinct ciphertexts and losing one never loses every copy. Salts are deployment-wide (the
// same index gives the same salt in every bucket and volume, so dedup crosses buckets) and
// secret (derived from the deployment secret, so an outsider cannot confirm a guessed
// plaintext by encrypting it). HMAC-SHA256 per RFC 2104 / FIPS 198-1.
import { createHash, createHmac } from 'node:crypto';
import { assert } from './errors.js';
import { DedupError } from './error-codes.js';
import {
  deploymentSecretBytesMax, deploymentSecretBytesMin, saltBytes, saltsMax,
  saltWindowSecondsMax, saltWindowSecondsMin,
} from './limits.js';

export type SaltCriterion = 'user' | 'time' | 'location';

export interface SaltPolicyV1 {
  version: 1;
  /** R: how many distinct ciphertexts one plaintext may have; 1 ≤ R ≤ saltsMax. */
  salts: number;
  by: SaltCriterion;
  /** Width of one time window when by = 'time'; validated (and ignored) otherwise. */
  windowSeconds: number;
}

export interface SaltContext {
  userId: string;
  timeMs: number;
  location: string;
}

/** R = 1: maximal dedup, one ciphertext per plaintext across the deployment. */
export const defaultSaltPolicy: Readonly<SaltPolicyV1> = Object.freeze({
  version: 1, salts: 1, by: 'user', windowSeconds: 86_400,
});

const criteria: readonly SaltCriterion[] = ['user', 'time', 'location'];
const policyKeys = ['version', 'salts', 'by', 'windowSeconds'];
const saltTag = Buffer.from('cairn salt v1', 'utf8');
const criterionTag = Buffer.from('cairn salt criterion v1\0', 'utf8');

function invalid(message: string): DedupError {
  return new DedupError('InvalidSaltPolicy', message);
}

/** Throws InvalidSaltPolicy unless `policy` is a well-formed SaltPolicyV1 within limits. */
export function validateSaltPolicy(policy: SaltPolicyV1): void {
  if (policy.version !== 1) throw invalid(`unknown salt policy version ${String(policy.version)}`);
  const { salts, by, windowSeconds } = policy;
  if (!Number.isSafeInteger(salts) || salts < 1 || salts > saltsMax) {
    throw invalid(`salts must be an integer in [1, ${saltsMax}]`);
  }
  if (!criteria.includes(by)) throw invalid(`by must be one of ${criteria.join(', ')}`);
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < saltWindowSecondsMin || windowSeconds > saltWindowSecondsMax) {
    throw invalid(`windowSeconds must be an integer in [${saltWindowSecondsMin}, ${saltWindowSecondsMax}]`);
  }
}

/** A uniform-enough u32 of a string label; modulo bias for R ≤ 64 is below 2^-26. */
function labelHash(criterion: SaltCriterion, label: string): number {
  const digest = createHash('sha256').update(criterionTag).update(criterion).update('\0').update(label, 'utf8').digest();
  return digest.readUInt32BE(0);
}

/** The salt index i ∈ [0, R) for one write under `policy`. */
export function saltIndexFor(policy: SaltPolicyV1, context: SaltContext): number {
  validateSaltPolicy(policy);
  const salts = policy.salts;
  let index: number;
  if (policy.by === 'user') {
    index = labelHash('user', context.userId) % salts;
  } else if (policy.by === 'location') {
    index = labelHash('location', context.location) % salts;
  } else {
    assert(Number.isFinite(context.timeMs) && context.timeMs >= 0, 'timeMs must be a non-negative time');
    const window = Math.floor(context.timeMs / 1000 / policy.windowSeconds);
    index = window % salts;
  }
  assert(Number.isInteger(index) && index >= 0 && index < salts, 'salt index out of range');
  return index;
}

/** salt_i = HMAC-SHA256(deploymentSecret, "cairn salt v1" ‖ u32be(i)). */
export function deriveSalt(deploymentSecret: Uint8Array, index: number): Buffer {
  assert(
    deploymentSecret.length >= deploymentSecretBytesMin && deploymentSecret.length <= deploymentSecretBytesMax,
    'deployment secret length out of range',
  );
  assert(Number.isSafeInteger(index) && index >= 0 && index < saltsMax, 'salt index out of range');
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(index, 0);
  const salt = createHmac('sha256', deploymentSecret).update(saltTag).update(counter).digest();
  assert(salt.length === saltBytes, 'salt is one sha256 output');
  return salt;
}

/** The JSON-safe document form; today identical in shape to SaltPolicyV1. */
export interface SaltPolicyDocumentV1 {
  version: 1;
  salts: number;
  by: SaltCriterion;
  windowSeconds: number;
}

export function encodeSaltPolicy(policy: SaltPolicyV1): SaltPolicyDocumentV1 {
  validateSaltPolicy(policy);
  return { version: 1, salts: policy.salts, by: policy.by, windowSeconds: policy.windowSeconds };
}

/** Parses untrusted JSON (already JSON.parse'd); unknown fields are rejected, not ignored. */
export function decodeSaltPolicy(document: unknown): SaltPolicyV1 {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid('salt policy must be a JSON object');
  }
  const record = document as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!policyKeys.includes(key)) throw invalid(`unknown salt policy field ${JSON.stringify(key).slice(0, 64)}`);
  }
  const { version, salts, by, windowSeconds } = record;
  if (version !== 1) throw invalid('salt policy version must be 1');
  if (typeof salts !== 'number' || typeof windowSeconds !== 'number' || typeof by !== 'string') {
    throw invalid('salt policy fields have the wrong types');
  }
  const policy: SaltPolicyV1 = { version: 1, salts, by: by as SaltCriterion, windowSeconds };
  validateSaltPolicy(policy);
  return policy;
}
