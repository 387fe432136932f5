// Public face of compute/: openCompute builds the function registry, the scheduler on a
// microVM driver, the durable trigger queue and scoped credentials; buildLambdaApi serves them.
import type { Logger } from 'pino';
import type { BlobStore } from '../blockstore/blobs/index.js';
import type { MetaStore } from '../blockstore/meta/index.js';
import type { CredentialsLookup } from '../gateway/auth/index.js';
import type { BucketRecordV1 } from '../gateway/service/records.js';
import { WasmDriver, wasmBuildHash, type MicroVmDriver } from './drivers/index.js';
import { AliasBook } from './functions/aliases.js';
import { CodeStore } from './functions/code-store.js';
import { FunctionRegistry } from './functions/registry.js';
import { SnapshotStore } from './functions/snapshot-store.js';
import { Scheduler } from './scheduler/scheduler.js';
import { LazyDriver } from './scheduler/lazy-driver.js';
import { EventQueue } from './triggers/event-queue.js';
import { deliverEvent } from './triggers/delivery.js';
import { ScopedCredentials } from './triggers/scoped-credentials.js';
import { buildLambdaApi } from './lambda-api/app.js';

export { buildLambdaApi, type LambdaApiDeps } from './lambda-api/app.js';
export { singleUseVariable } from './scheduler/scheduler.js';
export { accountOf } from './functions/records.js';

export interface ComputeDeps {
  meta: MetaStore;
  blobs: BlobStore;
  region: string;
  clock: () => number;
  logger?: Logger;
  driver?: MicroVmDriver;        // default: the wasm driver with its default worker count, started on first use
  workers?: number;
}

export interface Compute {
  registry: FunctionRegistry;
  aliases: AliasBook;
  scheduler: Scheduler;
  events: EventQueue;             // the gateway's ObjectEventSink
  credentials: ScopedCredentials; // chain into the S3 credentials lookup; bucketOf for the scope check
  /** Seed 16: a multipart upload began; warm one environment of each function it will trigger. */
  prewarm(bucket: BucketRecordV1, key: string): void;
  /** Starts draining the event queue once the S3 endpoint (for scoped credentials) is known. */
  start(s3Endpoint: string): Promise<void>;
  lambdaApi(credentials: CredentialsLookup): ReturnType<typeof buildLambdaApi>;
  close(): Promise<void>;
}

export async function openCompute(deps: ComputeDeps): Promise<Compute> {
  const onError = (error: unknown, what: string) => deps.logger?.warn({ err: error }, `compute: ${what} failed`);
  const given = deps.driver;
  const driver = given
    ? new LazyDriver(given.buildHash, async () => given)
    : new LazyDriver(wasmBuildHash(), () => WasmDriver.start({ workers: deps.workers }));
  const code = new CodeStore(deps.blobs);
  const scheduler = new Scheduler({ driver, code, snapshots: new SnapshotStore(deps.meta, deps.blobs, deps.clock), clock: deps.clock, onError });
  const registry = new FunctionRegistry({ meta: deps.meta, blobs: deps.blobs, code, clock: deps.clock, region: deps.region, onChange: (account, name) => scheduler.forget(account, name) });
  const aliases = new AliasBook(registry);
  const events = new EventQueue({ meta: deps.meta, clock: deps.clock, region: deps.region, onError });
  const credentials = new ScopedCredentials(deps.clock);
  let s3Endpoint: string | undefined;
  return {
    registry, aliases, scheduler, events, credentials,
    prewarm(bucket, key) {
      for (const target of events.targetsFor(bucket, key)) {
        void (async () => {
          if (!await registry.cachedHead(target.account, target.name)) return;
          const { head, config } = await aliases.resolveForInvoke(target.account, target.name, target.qualifier ?? undefined, () => 0);
          await scheduler.warm(config, 1, head.reservedConcurrency);
        })().catch((error) => onError(error, 'prewarm'));
      }
    },
    async start(endpoint) {
      s3Endpoint = endpoint;
      await events.start((record) => deliverEvent({ registry, aliases, scheduler, credentials, region: deps.region, s3Endpoint: () => s3Endpoint }, record));
    },
    lambdaApi: (lookup) => buildLambdaApi({ registry, aliases, scheduler, asyncInvoker: events, credentials: lookup, region: deps.region, clock: deps.clock, logger: deps.logger }),
    async close() {
      events.close();
      await scheduler.close();
    },
  };
}
