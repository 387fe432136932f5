// The function registry: $LATEST, published versions and their code, in the MetaStore. Every
// change that adds or drops a code blob commits the chunk references and the records in ONE
// batch (chunks.commit), so a kill -9 leaves either the old or the new function, never a mix.
// Changes to one function are serialised in this process (a per-function promise chain).
import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../../blockstore/blobs/index.js';
import { refDeltasOf } from '../../blockstore/blobs/index.js';
import type { MetaOp, MetaStore } from '../../blockstore/meta/index.js';
import type { ChunkId } from '../../dedup/index.js';
import { assert } from '../../dedup/errors.js';
import { LambdaError, invalid, notFound } from '../errors.js';
import * as limits from '../limits.js';
import type { CodeStore } from './code-store.js';
import { RecordCache } from './record-cache.js';
import {
  accountOf, decodeJson, encodeJson, functionArn, functionNamePattern, headKey, headPrefix, lambdaTimestamp, prefixEnd,
  snapshotPrefix, versionKey, versionPrefix, aliasPrefix, type AccountId, type FunctionConfigV1, type FunctionHeadV1,
} from './records.js';

export interface ConfigurationInput {
  runtime?: string;
  handler?: string;
  role?: string;
  memorySize?: number;
  timeout?: number;
  environment?: Record<string, string>;
  description?: string;
}

export interface CreateInput extends ConfigurationInput {
  name: string;
  zip: Uint8Array;
  publish?: boolean;
}

export interface RegistryDeps {
  meta: MetaStore;
  blobs: BlobStore;
  code: CodeStore;
  clock: () => number;
  region: string;
  /** Called after a function's $LATEST or the whole function changed, so pools drop stale environments. */
  onChange?: (account: AccountId, name: string) => void;
}

export class FunctionRegistry {
  private readonly chains = new Map<string, Promise<unknown>>();
  // Read-only copies for the invoke path; serialise() invalidates a function's entries around
  // every change (record-cache.ts).
  private readonly cache = new RecordCache((functionKey) => this.chains.has(functionKey));

  constructor(readonly deps: RegistryDeps) {}

  arn(account: AccountId, name: string, qualifier?: string): string {
    return functionArn(this.deps.region, account, name, qualifier);
  }

  /** Runs `task` after every earlier change to the same function has finished. */
  serialise<T>(account: AccountId, name: string, task: () => Promise<T>): Promise<T> {
    const key = `${account}/${name}`;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const run = async (): Promise<T> => {
      this.cache.invalidate(key);
      try {
        return await task();
      } finally {
        this.cache.invalidate(key);
      }
    };
    const next = previous.then(run, run);
    const settled = next.then(() => undefined, () => undefined);
    this.chains.set(key, settled);
    void settled.then(() => { if (this.chains.get(key) === settled) this.chains.delete(key); });
    return next;
  }

  async findHead(account: AccountId, name: string): Promise<FunctionHeadV1 | undefined> {
    const bytes = await this.deps.meta.get(headKey(account, name));
    return bytes ? decodeJson<FunctionHeadV1>(bytes, 'function') : undefined;
  }

  /**
   * The invoke path's reads: like findHead/version/a record under `key`, served from the record
   * cache. The records are frozen and shared: never mutate them (change paths use the uncached reads).
   */
  cachedRecord<T extends { version: number }>(account: AccountId, name: string, key: string, what: string): Promise<T | undefined> {
    return this.cache.read(`${account}/${name}`, key, async () => {
      const bytes = await this.deps.meta.get(key);
      return bytes ? decodeJson<T>(bytes, what) : undefined;
    });
  }

  cachedHead(account: AccountId, name: string): Promise<FunctionHeadV1 | undefined> {
    return this.cachedRecord<FunctionHeadV1>(account, name, headKey(account, name), 'function');
  }

  async cachedVersion(account: AccountId, name: string, functionVersion: string): Promise<FunctionConfigV1> {
    if (functionVersion === '$LATEST') {
      const head = await this.cachedHead(account, name);
      if (!head) throw notFound(`Function not found: ${this.arn(account, name)}`);
      return head.latest;
    }
    const record = /^[0-9]{1,10}$/.test(functionVersion)
      ? await this.cachedRecord<FunctionConfigV1>(account, name, versionKey(account, name, Number(functionVersion)), 'function version')
      : undefined;
    if (!record) throw notFound(`Function not found: ${this.arn(account, name, functionVersion)}`);
    return record;
  }

  async head(account: AccountId, name: string): Promise<FunctionHeadV1> {
    const head = await this.findHead(account, name);
    if (!head) throw notFound(`Function not found: ${this.arn(account, name)}`);
    return head;
  }

  async version(account: AccountId, name: string, functionVersion: string): Promise<FunctionConfigV1> {
    if (functionVersion === '$LATEST') return (await this.head(account, name)).latest;
    const number = Number(functionVersion);
    const bytes = /^[0-9]{1,10}$/.test(functionVersion) ? await this.deps.meta.get(versionKey(account, name, number)) : undefined;
    if (!bytes) throw notFound(`Function not found: ${this.arn(account, name, functionVersion)}`);
    return decodeJson<FunctionConfigV1>(bytes, 'function version');
  }

  async create(owner: string, input: CreateInput): Promise<FunctionConfigV1> {
    const account = accountOf(owner);
    if (!functionNamePattern.test(input.name)) throw invalid(`1 validation error detected: Value '${input.name}' at 'functionName' failed to satisfy constraint`);
    const base = validateConfiguration({ memorySize: 128, timeout: 3, environment: {}, description: '', role: '', runtime: 'nodejs20.x', ...stripUndefined(input) });
    if (!input.handler) throw invalid('Handler is required for a Zip package.');
    const stored = await this.deps.code.store(input.zip, input.handler);
    return this.serialise(account, input.name, async () => {
      try {
        if (await this.findHead(account, input.name)) throw new LambdaError('ResourceConflictException', `Function already exist: ${input.name}`);
        const now = this.deps.clock();
        const latest: FunctionConfigV1 = {
          version: 1, account, owner, name: input.name, functionVersion: '$LATEST', runtime: base.runtime!, handler: input.handler!,
          role: base.role!, memorySize: base.memorySize!, timeout: base.timeout!, environment: base.environment!, description: base.description!,
          codeSha256: stored.codeSha256, codeSize: stored.codeSize, sealedCode: stored.sealedCode, revisionId: randomUUID(), lastModified: lambdaTimestamp(now),
        };
        const head: FunctionHeadV1 = { version: 1, latest, nextVersion: 1, policy: [], policyRevisionId: randomUUID(), reservedConcurrency: null, createdMs: now };
        const ops: MetaOp[] = [];
        const deltas = new Map(stored.written.refDeltas);
        const published = input.publish ? this.publishOps(head, ops, deltas, {}) : undefined;
        ops.push({ type: 'put', key: headKey(account, input.name), value: encodeJson(head) });
        await this.deps.blobs.chunks.commit(deltas, ops);
        return published ?? latest;
      } catch (error) {
        this.deps.code.abandon(stored);
        throw error;
      }
    });
  }

  async list(account: AccountId, marker: string | undefined, maxItems: number): Promise<{ functions: FunctionConfigV1[]; nextMarker?: string }> {
    const prefix = headPrefix(account);
    const functions: FunctionConfigV1[] = [];
    const range = { gt: marker ? prefix + marker : undefined, gte: marker ? undefined : prefix, lt: prefixEnd(prefix), limit: maxItems + 1 };
    for await (const [, value] of this.deps.meta.iterate(range)) functions.push(decodeJson<FunctionHeadV1>(value, 'function').latest);
    const more = functions.length > maxItems;
    if (more) functions.pop();
    return { functions, nextMarker: more ? functions[functions.length - 1].name : undefined };
  }

  async updateCode(account: AccountId, name: string, zip: Uint8Array, options: { publish?: boolean; revisionId?: string }): Promise<FunctionConfigV1> {
    const handler = (await this.head(account, name)).latest.handler;
    const stored = await this.deps.code.store(zip, handler);
    return this.serialise(account, name, async () => {
      try {
        const head = await this.head(account, name);
        checkRevision(head.latest.revisionId, options.revisionId);
        const deltas = new Map(stored.written.refDeltas);
        refDeltasOf(this.deps.blobs.openManifest(Buffer.from(head.latest.sealedCode, 'base64')), -1, deltas);
        head.latest = { ...head.latest, codeSha256: stored.codeSha256, codeSize: stored.codeSize, sealedCode: stored.sealedCode, ...this.touched() };
        const ops: MetaOp[] = await this.dropSnapshotOps(account, name, '$LATEST', deltas);
        const published = options.publish ? this.publishOps(head, ops, deltas, {}) : undefined;
        ops.push({ type: 'put', key: headKey(account, name), value: encodeJson(head) });
        await this.deps.blobs.chunks.commit(deltas, ops);
        this.deps.onChange?.(account, name);
        return published ?? head.latest;
      } catch (error) {
        this.deps.code.abandon(stored);
        throw error;
      }
    });
  }

  async updateConfiguration(account: AccountId, name: string, input: ConfigurationInput & { revisionId?: string }): Promise<FunctionConfigV1> {
    return this.serialise(account, name, async () => {
      const head = await this.head(account, name);
      checkRevision(head.latest.revisionId, input.revisionId);
      const merged = validateConfiguration({ ...head.latest, ...stripUndefined(input) });
      head.latest = { ...head.latest, ...(merged as Partial<FunctionConfigV1>), ...this.touched() };
      const deltas = new Map<ChunkId, number>();
      const ops = await this.dropSnapshotOps(account, name, '$LATEST', deltas);
      ops.push({ type: 'put', key: headKey(account, name), value: encodeJson(head) });
      await this.deps.blobs.chunks.commit(deltas, ops);
      this.deps.onChange?.(account, name);
      return head.latest;
    });
  }

  async publishVersion(account: AccountId, name: string, input: { codeSha256?: string; description?: string; revisionId?: string }): Promise<FunctionConfigV1> {
    return this.serialise(account, name, async () => {
      const head = await this.head(account, name);
      checkRevision(head.latest.revisionId, input.revisionId);
      if (input.codeSha256 && input.codeSha256 !== head.latest.codeSha256) throw new LambdaError('InvalidParameterValueException', 'CodeSha256 does not match the code of $LATEST.');
      const last = await this.lastVersion(account, name);
      // Lambda returns the existing version when neither code nor configuration changed since.
      if (last && sameDeployment(last, head.latest)) return last;
      const ops: MetaOp[] = [];
      const deltas = new Map<ChunkId, number>();
      const published = this.publishOps(head, ops, deltas, { description: input.description });
      ops.push({ type: 'put', key: headKey(account, name), value: encodeJson(head) });
      await this.deps.blobs.chunks.commit(deltas, ops);
      return published;
    });
  }

  async listVersions(account: AccountId, name: string): Promise<FunctionConfigV1[]> {
    const head = await this.head(account, name);
    const versions = [head.latest];
    const prefix = versionPrefix(account, name);
    for await (const [, value] of this.deps.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), limit: limits.versionsPerFunctionMax })) {
      versions.push(decodeJson<FunctionConfigV1>(value, 'function version'));
    }
    return versions;
  }

  /** DeleteFunction: the whole function (versions, aliases, snapshots) or one published version. */
  async delete(account: AccountId, name: string, qualifier?: string): Promise<void> {
    await this.serialise(account, name, async () => {
      const head = await this.head(account, name);
      const deltas = new Map<ChunkId, number>();
      const ops: MetaOp[] = [];
      const drop = (config: FunctionConfigV1) => refDeltasOf(this.deps.blobs.openManifest(Buffer.from(config.sealedCode, 'base64')), -1, deltas);
      if (qualifier && qualifier !== '$LATEST') {
        const config = await this.version(account, name, qualifier);
        drop(config);
        ops.push({ type: 'del', key: versionKey(account, name, Number(qualifier)) }, ...await this.dropSnapshotOps(account, name, qualifier, deltas));
      } else {
        drop(head.latest);
        for (const config of (await this.listVersions(account, name)).slice(1)) drop(config);
        for (const prefix of [versionPrefix(account, name), aliasPrefix(account, name)]) ops.push(...await this.deleteRangeOps(prefix));
        ops.push(...await this.dropSnapshotOps(account, name, undefined, deltas), { type: 'del', key: headKey(account, name) });
      }
      await this.deps.blobs.chunks.commit(deltas, ops);
      this.deps.onChange?.(account, name);
    });
  }

  async putConcurrency(account: AccountId, name: string, reserved: number | null): Promise<void> {
    if (reserved !== null && (!Number.isInteger(reserved) || reserved < 0 || reserved > limits.concurrencyPerFunctionMax)) {
      throw invalid(`ReservedConcurrentExecutions must be in [0, ${limits.concurrencyPerFunctionMax}]`);
    }
    await this.serialise(account, name, async () => {
      const head = await this.head(account, name);
      head.reservedConcurrency = reserved;
      await this.deps.meta.batch([{ type: 'put', key: headKey(account, name), value: encodeJson(head) }]);
    });
  }

  private publishOps(head: FunctionHeadV1, ops: MetaOp[], deltas: Map<ChunkId, number>, input: { description?: string }): FunctionConfigV1 {
    assert(head.nextVersion >= 1, 'versions count from 1');
    if (head.nextVersion > limits.versionsPerFunctionMax) throw new LambdaError('ResourceConflictException', 'Too many versions of this function.');
    const number = head.nextVersion++;
    const config: FunctionConfigV1 = { ...head.latest, functionVersion: String(number), description: input.description ?? head.latest.description, revisionId: randomUUID() };
    refDeltasOf(this.deps.blobs.openManifest(Buffer.from(config.sealedCode, 'base64')), 1, deltas);
    ops.push({ type: 'put', key: versionKey(head.latest.account, head.latest.name, number), value: encodeJson(config) });
    return config;
  }

  private async lastVersion(account: AccountId, name: string): Promise<FunctionConfigV1 | undefined> {
    const prefix = versionPrefix(account, name);
    for await (const [, value] of this.deps.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), reverse: true, limit: 1 })) {
      return decodeJson<FunctionConfigV1>(value, 'function version');
    }
    return undefined;
  }

  /** Deletes the snapshots of one version (or all), returning their chunk references. */
  private async dropSnapshotOps(account: AccountId, name: string, functionVersion: string | undefined, deltas: Map<ChunkId, number>): Promise<MetaOp[]> {
    const prefix = snapshotPrefix(account, name) + (functionVersion === undefined ? '' : `${functionVersion}/`);
    const ops: MetaOp[] = [];
    for await (const [key, value] of this.deps.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), limit: 10_000 })) {
      const record = decodeJson<{ version: 1; sealedManifest: string }>(value, 'snapshot');
      refDeltasOf(this.deps.blobs.openManifest(Buffer.from(record.sealedManifest, 'base64')), -1, deltas);
      ops.push({ type: 'del', key });
    }
    return ops;
  }

  private async deleteRangeOps(prefix: string): Promise<MetaOp[]> {
    const ops: MetaOp[] = [];
    for await (const [key] of this.deps.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), limit: 10_000 })) ops.push({ type: 'del', key });
    return ops;
  }

  private touched(): Pick<FunctionConfigV1, 'revisionId' | 'lastModified'> {
    return { revisionId: randomUUID(), lastModified: lambdaTimestamp(this.deps.clock()) };
  }
}

function sameDeployment(a: FunctionConfigV1, b: FunctionConfigV1): boolean {
  return a.codeSha256 === b.codeSha256 && a.handler === b.handler && a.runtime === b.runtime && a.memorySize === b.memorySize
    && a.timeout === b.timeout && JSON.stringify(a.environment) === JSON.stringify(b.environment);
}

function checkRevision(current: string, expected: string | undefined): void {
  if (expected !== undefined && expected !== current) throw new LambdaError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

/** Lambda's configuration constraints (CreateFunction request parameters). */
export function validateConfiguration(input: ConfigurationInput): ConfigurationInput {
  const { memorySize, timeout, environment, runtime } = input;
  if (!Number.isInteger(memorySize) || memorySize! < limits.memorySizeMin || memorySize! > limits.memorySizeMax) {
    throw invalid(`'MemorySize' value failed to satisfy constraint: Member must have value between ${limits.memorySizeMin} and ${limits.memorySizeMax}`);
  }
  if (!Number.isInteger(timeout) || timeout! < 1 || timeout! > limits.timeoutSecondsMax) {
    throw invalid(`'Timeout' value failed to satisfy constraint: Member must have value between 1 and ${limits.timeoutSecondsMax}`);
  }
  if (runtime !== undefined && !/^nodejs\d+\.x$/.test(runtime)) throw invalid(`Value ${runtime} at 'runtime' failed to satisfy constraint: Cairn runs nodejs runtimes`);
  const envBytes = Buffer.byteLength(JSON.stringify(environment ?? {}));
  if (envBytes > limits.environmentBytesMax) throw invalid(`Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.`);
  for (const key of Object.keys(environment ?? {})) {
    if (!/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(key)) throw invalid(`Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys or invalid names: ${key}`);
  }
  return input;
}
