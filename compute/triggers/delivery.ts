// Delivering one queued event: resolve the function (its version or alias), mint credentials
// scoped to the trigger's bucket for exactly this invocation (seed 7), run it, revoke them.
import { randomUUID } from 'node:crypto';
import type { AliasBook } from '../functions/aliases.js';
import type { FunctionRegistry } from '../functions/registry.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { DeliveryOutcome } from './event-queue.js';
import type { EventRecordV1 } from './event-records.js';
import type { ScopedCredentials } from './scoped-credentials.js';
import { s3HostServices } from './s3-host-client.js';

export interface DeliveryDeps {
  registry: FunctionRegistry;
  aliases: AliasBook;
  scheduler: Scheduler;
  credentials: ScopedCredentials;
  region: string;
  s3Endpoint: () => string | undefined;
}

const credentialGraceMs = 5_000;

export async function deliverEvent(deps: DeliveryDeps, record: EventRecordV1): Promise<DeliveryOutcome> {
  const head = await deps.registry.cachedHead(record.account, record.functionName);
  if (!head) return { ok: false, error: `ResourceNotFoundException: Function not found: ${deps.registry.arn(record.account, record.functionName)}` };
  const { config } = await deps.aliases.resolveForInvoke(record.account, record.functionName, record.qualifier ?? undefined, Math.random);
  const endpoint = deps.s3Endpoint();
  const credential = record.scopeBucket && endpoint ? deps.credentials.mint(config.owner, record.scopeBucket, config.timeout * 1000 + credentialGraceMs) : undefined;
  try {
    const env = credential ? {
      AWS_ACCESS_KEY_ID: credential.accessKeyId, AWS_SECRET_ACCESS_KEY: credential.secretAccessKey, AWS_REGION: deps.region, CAIRN_S3_ENDPOINT: endpoint!,
    } : undefined;
    const host = credential ? s3HostServices({ endpoint: endpoint!, region: deps.region, accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey }) : undefined;
    const result = await deps.scheduler.invoke(config, {
      payloadJson: record.payloadJson, requestId: randomUUID(), env, host,
      invokedArn: deps.registry.arn(record.account, record.functionName, record.qualifier ?? undefined),
    }, head.reservedConcurrency);
    return result.ok ? { ok: true } : { ok: false, error: `${result.error?.errorType}: ${result.error?.errorMessage}` };
  } finally {
    if (credential) deps.credentials.revoke(credential.accessKeyId);
  }
}
