// Persisted function metadata (STYLE.md §5): versioned records, their MetaStore keys, and the
// conversions to Lambda's wire shapes live elsewhere (lambda-api/shapes.ts).
//
// Key layout under the 'f/' prefix (blockstore/meta/meta-store.ts owns the namespace list):
//   f/l/<account>/<name>              FunctionHeadV1   ($LATEST + counters + resource policy)
//   f/v/<account>/<name>/<version>    FunctionConfigV1 (published, immutable; version zero-padded)
//   f/a/<account>/<name>/<alias>      AliasRecordV1
//   f/s/<build>/<account>/<name>/<version>/<revision>   SnapshotRecordV1 (scheduler's images)
//   f/q/<seq>  f/x/<seq>              trigger events: queued / failed (triggers/)
import { createHash } from 'node:crypto';
import { assert } from '../../dedup/errors.js';

export type AccountId = string & { readonly brand: 'AccountId' };

export interface FunctionConfigV1 {
  version: 1;
  account: AccountId;
  owner: string;                 // the Cairn user who created it (tenant)
  name: string;
  functionVersion: string;       // '$LATEST' or '1', '2', …
  runtime: string;
  handler: string;
  role: string;
  memorySize: number;            // MB
  timeout: number;               // seconds
  environment: Record<string, string>;
  description: string;
  codeSha256: string;            // base64 sha256 of the zip, as Lambda reports it
  codeSize: number;
  sealedCode: string;            // base64 sealed blob manifest of the zip
  revisionId: string;
  lastModified: string;          // Lambda's "2024-01-02T03:04:05.000+0000"
}

export interface PolicyStatementV1 {
  sid: string;
  qualifier: string | null;
  statement: Record<string, unknown>; // IAM statement JSON as GetPolicy returns it
}

export interface FunctionHeadV1 {
  version: 1;
  latest: FunctionConfigV1;
  nextVersion: number;
  policy: PolicyStatementV1[];
  policyRevisionId: string;
  reservedConcurrency: number | null;
  createdMs: number;
}

export interface AliasRecordV1 {
  version: 1;
  name: string;
  functionVersion: string;
  description: string;
  additionalVersionWeights: Record<string, number>;
  revisionId: string;
}

export interface SnapshotRecordV1 {
  version: 1;
  sealedManifest: string;        // base64 sealed manifest of the image bytes (4 KiB blocks)
  size: number;
  createdMs: number;
}

export const functionNamePattern = /^[a-zA-Z0-9-_]{1,64}$/;
export const aliasNamePattern = /^(?!^[0-9]+$)([a-zA-Z0-9-_]{1,128})$/;

/** Each Cairn user is its own "account": a stable 12-digit id derived from the user name. */
export function accountOf(userId: string): AccountId {
  const digest = createHash('sha256').update(`cairn-account:${userId}`).digest();
  const account = (digest.readBigUInt64BE(0) % 1_000_000_000_000n).toString().padStart(12, '0');
  return account as AccountId;
}

export function functionArn(region: string, account: AccountId, name: string, qualifier?: string): string {
  return `arn:aws:lambda:${region}:${account}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

export const headKey = (account: AccountId, name: string): string => `f/l/${account}/${name}`;
export const headPrefix = (account: AccountId): string => `f/l/${account}/`;
export const versionKey = (account: AccountId, name: string, version: number): string => `f/v/${account}/${name}/${String(version).padStart(10, '0')}`;
export const versionPrefix = (account: AccountId, name: string): string => `f/v/${account}/${name}/`;
export const aliasKey = (account: AccountId, name: string, alias: string): string => `f/a/${account}/${name}/${alias}`;
export const aliasPrefix = (account: AccountId, name: string): string => `f/a/${account}/${name}/`;
export const snapshotPrefix = (account: AccountId, name: string): string => `f/s/${account}/${name}/`;
export const snapshotKey = (config: FunctionConfigV1, buildHash: string): string =>
  `${snapshotPrefix(config.account, config.name)}${config.functionVersion}/${config.revisionId}/${buildHash.slice(0, 32)}`;

/** The end of a prefix range: every key starting with `prefix` is below it. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function encodeJson(record: { version: number }): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

export function decodeJson<Record extends { version: number }>(bytes: Buffer, what: string): Record {
  const value = JSON.parse(bytes.toString('utf8')) as Record;
  assert(value.version === 1, `${what} record of unknown version ${value.version}`);
  return value;
}

export function lambdaTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export function codeSha256Of(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64');
}
