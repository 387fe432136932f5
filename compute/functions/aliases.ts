// Aliases (name → version with optional weighted routing) and the resource policy
// (AddPermission/RemovePermission/GetPolicy). Both live beside the function head and change under
// the registry's per-function serialisation.
import { randomUUID } from 'node:crypto';
import { LambdaError, invalid, notFound } from '../errors.js';
import { aliasesPerFunctionMax, policyStatementsMax } from '../limits.js';
import type { FunctionRegistry } from './registry.js';
import {
  aliasKey, aliasNamePattern, aliasPrefix, decodeJson, encodeJson, headKey, prefixEnd,
  type AccountId, type AliasRecordV1, type FunctionConfigV1, type FunctionHeadV1,
} from './records.js';

export interface AliasInput {
  name: string;
  functionVersion?: string;
  description?: string;
  additionalVersionWeights?: Record<string, number>;
  revisionId?: string;
}

export interface PermissionInput {
  statementId: string;
  action: string;
  principal: string;
  sourceArn?: string;
  sourceAccount?: string;
  qualifier?: string;
}

export class AliasBook {
  constructor(private readonly registry: FunctionRegistry) {}

  private get meta() { return this.registry.deps.meta; }

  async find(account: AccountId, name: string, alias: string): Promise<AliasRecordV1 | undefined> {
    const bytes = await this.meta.get(aliasKey(account, name, alias));
    return bytes ? decodeJson<AliasRecordV1>(bytes, 'alias') : undefined;
  }

  async get(account: AccountId, name: string, alias: string): Promise<AliasRecordV1> {
    await this.registry.head(account, name);
    const record = await this.find(account, name, alias);
    if (!record) throw notFound(`Alias not found: ${this.registry.arn(account, name, alias)}`);
    return record;
  }

  async list(account: AccountId, name: string, functionVersion?: string): Promise<AliasRecordV1[]> {
    await this.registry.head(account, name);
    const prefix = aliasPrefix(account, name);
    const aliases: AliasRecordV1[] = [];
    for await (const [, value] of this.meta.iterate({ gte: prefix, lt: prefixEnd(prefix), limit: aliasesPerFunctionMax })) {
      const record = decodeJson<AliasRecordV1>(value, 'alias');
      if (!functionVersion || record.functionVersion === functionVersion) aliases.push(record);
    }
    return aliases;
  }

  async create(account: AccountId, name: string, input: AliasInput): Promise<AliasRecordV1> {
    if (!aliasNamePattern.test(input.name)) throw invalid(`Value '${input.name}' at 'name' failed to satisfy constraint`);
    return this.registry.serialise(account, name, async () => {
      await this.checkVersions(account, name, input.functionVersion, input.additionalVersionWeights);
      if (await this.find(account, name, input.name)) throw new LambdaError('ResourceConflictException', `Alias already exists: ${this.registry.arn(account, name, input.name)}`);
      if ((await this.list(account, name)).length >= aliasesPerFunctionMax) throw new LambdaError('ResourceConflictException', 'Too many aliases.');
      const record: AliasRecordV1 = {
        version: 1, name: input.name, functionVersion: input.functionVersion!, description: input.description ?? '',
        additionalVersionWeights: input.additionalVersionWeights ?? {}, revisionId: randomUUID(),
      };
      await this.meta.batch([{ type: 'put', key: aliasKey(account, name, input.name), value: encodeJson(record) }]);
      return record;
    });
  }

  async update(account: AccountId, name: string, input: AliasInput): Promise<AliasRecordV1> {
    return this.registry.serialise(account, name, async () => {
      const record = await this.get(account, name, input.name);
      if (input.revisionId !== undefined && input.revisionId !== record.revisionId) throw new LambdaError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id.');
      const next: AliasRecordV1 = {
        ...record, functionVersion: input.functionVersion ?? record.functionVersion, description: input.description ?? record.description,
        additionalVersionWeights: input.additionalVersionWeights ?? record.additionalVersionWeights, revisionId: randomUUID(),
      };
      await this.checkVersions(account, name, next.functionVersion, next.additionalVersionWeights);
      await this.meta.batch([{ type: 'put', key: aliasKey(account, name, input.name), value: encodeJson(next) }]);
      return next;
    });
  }

  async delete(account: AccountId, name: string, alias: string): Promise<void> {
    await this.registry.serialise(account, name, async () => {
      await this.registry.head(account, name);
      await this.meta.batch([{ type: 'del', key: aliasKey(account, name, alias) }]);
    });
  }

  /** Resolves a Qualifier ($LATEST, a version number or an alias) to the version to run. */
  async resolve(account: AccountId, name: string, qualifier: string | undefined, random: () => number): Promise<FunctionConfigV1> {
    if (qualifier === undefined || qualifier === '$LATEST' || /^[0-9]+$/.test(qualifier)) return this.registry.version(account, name, qualifier ?? '$LATEST');
    const alias = await this.get(account, name, qualifier);
    let draw = random();
    for (const [version, weight] of Object.entries(alias.additionalVersionWeights)) {
      if (draw < weight) return this.registry.version(account, name, version);
      draw -= weight;
    }
    return this.registry.version(account, name, alias.functionVersion);
  }

  /**
   * The invoke path's resolve (Invoke, DryRun, triggers, warm): the head (for the concurrency
   * limit) and the version to run, from the registry's record cache. Frozen: do not mutate.
   */
  async resolveForInvoke(account: AccountId, name: string, qualifier: string | undefined, random: () => number): Promise<{ head: FunctionHeadV1; config: FunctionConfigV1 }> {
    const head = await this.registry.cachedHead(account, name);
    if (!head) throw notFound(`Function not found: ${this.registry.arn(account, name)}`);
    if (qualifier === undefined || qualifier === '$LATEST') return { head, config: head.latest };
    if (/^[0-9]+$/.test(qualifier)) return { head, config: await this.registry.cachedVersion(account, name, qualifier) };
    const alias = await this.registry.cachedRecord<AliasRecordV1>(account, name, aliasKey(account, name, qualifier), 'alias');
    if (!alias) throw notFound(`Alias not found: ${this.registry.arn(account, name, qualifier)}`);
    let draw = random();
    for (const [version, weight] of Object.entries(alias.additionalVersionWeights)) {
      if (draw < weight) return { head, config: await this.registry.cachedVersion(account, name, version) };
      draw -= weight;
    }
    return { head, config: await this.registry.cachedVersion(account, name, alias.functionVersion) };
  }

  async addPermission(account: AccountId, name: string, input: PermissionInput): Promise<Record<string, unknown>> {
    if (!/^[a-zA-Z0-9-_.]{1,100}$/.test(input.statementId ?? '')) throw invalid('StatementId must be 1-100 of [a-zA-Z0-9-_.]');
    if (!input.action || !input.principal) throw invalid('Action and Principal are required.');
    return this.registry.serialise(account, name, async () => {
      const head = await this.registry.head(account, name);
      if (head.policy.some((entry) => entry.sid === input.statementId)) throw new LambdaError('ResourceConflictException', `The statement id (${input.statementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`);
      if (head.policy.length >= policyStatementsMax) throw new LambdaError('ResourceConflictException', 'The final policy size is bigger than the limit.');
      const condition: Record<string, unknown> = {};
      if (input.sourceArn) condition.ArnLike = { 'AWS:SourceArn': input.sourceArn };
      if (input.sourceAccount) condition.StringEquals = { 'AWS:SourceAccount': input.sourceAccount };
      const principal = /^[0-9]{12}$/.test(input.principal) ? { AWS: `arn:aws:iam::${input.principal}:root` } : input.principal === '*' ? '*' : { Service: input.principal };
      const statement: Record<string, unknown> = {
        Sid: input.statementId, Effect: 'Allow', Principal: principal, Action: input.action,
        Resource: this.registry.arn(account, name, input.qualifier), ...(Object.keys(condition).length ? { Condition: condition } : {}),
      };
      head.policy.push({ sid: input.statementId, qualifier: input.qualifier ?? null, statement });
      head.policyRevisionId = randomUUID();
      await this.meta.batch([{ type: 'put', key: headKey(account, name), value: encodeJson(head) }]);
      return statement;
    });
  }

  async removePermission(account: AccountId, name: string, statementId: string): Promise<void> {
    await this.registry.serialise(account, name, async () => {
      const head = await this.registry.head(account, name);
      const index = head.policy.findIndex((entry) => entry.sid === statementId);
      if (index < 0) throw notFound(`Statement ${statementId} is not found in resource policy.`);
      head.policy.splice(index, 1);
      head.policyRevisionId = randomUUID();
      await this.meta.batch([{ type: 'put', key: headKey(account, name), value: encodeJson(head) }]);
    });
  }

  async policy(account: AccountId, name: string, qualifier?: string): Promise<{ policy: string; revisionId: string }> {
    const head = await this.registry.head(account, name);
    const statements = head.policy.filter((entry) => (entry.qualifier ?? undefined) === qualifier).map((entry) => entry.statement);
    if (statements.length === 0) throw notFound('The resource you requested does not exist.');
    return { policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }), revisionId: head.policyRevisionId };
  }

  private async checkVersions(account: AccountId, name: string, functionVersion: string | undefined, weights?: Record<string, number>): Promise<void> {
    if (!functionVersion) throw invalid('FunctionVersion is required.');
    await this.registry.version(account, name, functionVersion);
    const entries = Object.entries(weights ?? {});
    if (entries.length > 1) throw invalid('RoutingConfig may name one additional version.');
    for (const [version, weight] of entries) {
      if (!(weight >= 0 && weight <= 1)) throw invalid('AdditionalVersionWeights must be between 0.0 and 1.0.');
      await this.registry.version(account, name, version);
    }
  }
}
