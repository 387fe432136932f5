// The scheduler: a pool of environments per function version (+ revision), each environment a
// wasm microVM in a worker thread (compute/drivers). Seed 6: the first environment of a version
// initialises (create → load → snapshot), stores the image in the blockstore, and every later
// environment — also after a restart — restores from it. Seed 7: a single-use function's
// environment is destroyed after each invocation and a fresh restore of the snapshot takes its
// place. Seed 16: warm(config, n) restores n environments before invocations arrive.
import { DriverError, type Environment, type FunctionError, type SnapshotImage } from '../drivers/index.js';
import type { CodeStore } from '../functions/code-store.js';
import type { SnapshotStore } from '../functions/snapshot-store.js';
import type { AccountId, FunctionConfigV1 } from '../functions/records.js';
import { assert } from '../../dedup/errors.js';
import { LambdaError } from '../errors.js';
import { concurrencyPerFunctionDefault, concurrencyPerFunctionMax, waitersPerFunctionMax, warmCountMax } from '../limits.js';
import { wrapCode } from './guest-shim.js';
import { framedLogs, runLegs, type InvocationRequest, type InvocationResult } from './invocation.js';
import type { LazyDriver } from './lazy-driver.js';

export const singleUseVariable = 'CAIRN_SINGLE_USE';
const initTimeoutMs = 10_000; // Lambda's init phase limit

type Prepared = { kind: 'image'; image: SnapshotImage; first?: Environment } | { kind: 'failed'; error: FunctionError; logs: string };

interface Pool {
  key: string;
  idle: Environment[];
  live: number;                 // idle + busy + being restored
  waiters: ((environment: Environment | Error) => void)[];
  prepared?: Promise<Prepared>;
}

export interface SchedulerDeps {
  /** Started on the first prepare or warm, so a node without functions runs no driver threads. */
  driver: LazyDriver;
  code: CodeStore;
  snapshots: SnapshotStore;
  clock: () => number;
  onError?: (error: unknown, what: string) => void;
}

/**
 * Where an invocation's environment came from: an idle one kept from earlier calls or a warm-up
 * ('warm'), a restore on the call's path ('restored'), or none because init failed ('init').
 * Answered as X-Cairn-Environment-Start, so tests see seed 16 work without timing.
 */
export type EnvironmentStart = 'warm' | 'restored' | 'init';

export type ScheduledResult = InvocationResult & { framedLogs: string; environmentStart: EnvironmentStart };

export interface SchedulerStats { pools: number; idle: number; live: number; coldStarts: number; restores: number }

export function isSingleUse(config: FunctionConfigV1): boolean {
  return config.environment[singleUseVariable] === 'true';
}

export class Scheduler {
  private readonly pools = new Map<string, Pool>();
  private coldStarts = 0;
  private restores = 0;

  constructor(private readonly deps: SchedulerDeps) {}

  async invoke(config: FunctionConfigV1, request: InvocationRequest, concurrency: number | null): Promise<ScheduledResult> {
    const pool = this.poolFor(config);
    const prepared = await this.prepare(pool, config);
    if (prepared.kind === 'failed') {
      const result: InvocationResult = { ok: false, payloadJson: JSON.stringify(prepared.error), error: prepared.error, logs: '', durationMs: 0, executedVersion: config.functionVersion, environmentHealth: 'discard' };
      return { ...result, framedLogs: framedLogs(result, config, request.requestId, prepared.logs), environmentStart: 'init' };
    }
    const { environment, start } = await this.acquire(pool, config, prepared.image, limitOf(concurrency));
    let result: InvocationResult;
    try {
      result = await runLegs(environment, config, request, this.deps.clock);
    } catch (error) {
      this.discard(pool, environment);
      if (error instanceof DriverError) throw new LambdaError('ServiceException', `environment failed: ${error.message}`);
      throw error;
    }
    this.release(pool, config, prepared.image, environment, result.environmentHealth === 'reusable' && !isSingleUse(config));
    return { ...result, framedLogs: framedLogs(result, config, request.requestId), environmentStart: start };
  }

  /** Seed 16: make up to `count` environments ready (restored from the snapshot) ahead of calls. */
  async warm(config: FunctionConfigV1, count: number, concurrency: number | null): Promise<number> {
    const wanted = Math.min(count, warmCountMax, limitOf(concurrency));
    const pool = this.poolFor(config);
    const prepared = await this.prepare(pool, config);
    if (prepared.kind === 'failed') return 0;
    const missing = Math.max(0, wanted - pool.idle.length);
    const room = Math.max(0, limitOf(concurrency) - pool.live);
    const restores = Math.min(missing, room);
    await (await this.deps.driver.get()).warm({ memoryMb: config.memorySize }, restores);
    await Promise.all(Array.from({ length: restores }, () => this.restoreInto(pool, config, prepared.image)));
    return pool.idle.length;
  }

  /** Drops every pool of a function (its code or configuration changed, or it was deleted). */
  forget(account: AccountId, name: string): void {
    const prefix = `${account}/${name}/`;
    for (const [key, pool] of this.pools) {
      if (!key.startsWith(prefix)) continue;
      this.pools.delete(key);
      for (const environment of pool.idle.splice(0)) void environment.destroy().catch((error) => this.deps.onError?.(error, 'destroy'));
    }
  }

  stats(): SchedulerStats {
    let idle = 0;
    let live = 0;
    for (const pool of this.pools.values()) { idle += pool.idle.length; live += pool.live; }
    return { pools: this.pools.size, idle, live, coldStarts: this.coldStarts, restores: this.restores };
  }

  async close(): Promise<void> {
    for (const pool of this.pools.values()) {
      for (const waiter of pool.waiters.splice(0)) waiter(new LambdaError('ServiceException', 'scheduler closed'));
    }
    this.pools.clear();
    await this.deps.driver.close();
  }

  private poolFor(config: FunctionConfigV1): Pool {
    const key = `${config.account}/${config.name}/${config.functionVersion}/${config.revisionId}/${config.memorySize}`;
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = { key, idle: [], live: 0, waiters: [] }));
    return pool;
  }

  /** Single flight per pool: the stored snapshot, else one cold init whose image is stored. */
  private prepare(pool: Pool, config: FunctionConfigV1): Promise<Prepared> {
    if (!pool.prepared) {
      pool.prepared = this.loadOrInit(pool, config);
      pool.prepared.catch(() => { pool.prepared = undefined; });
    }
    return pool.prepared;
  }

  private async loadOrInit(pool: Pool, config: FunctionConfigV1): Promise<Prepared> {
    const stored = await this.deps.snapshots.load(config, this.deps.driver.buildHash);
    const driver = await this.deps.driver.get();
    if (stored) {
      try {
        return { kind: 'image', image: driver.importImage(stored) };
      } catch (error) {
        if (!(error instanceof DriverError)) throw error; // another engine build: initialise again
      }
    }
    this.coldStarts++;
    const code = wrapCode(await this.deps.code.codeOf(config), config.environment);
    const environment = await driver.create({ memoryMb: config.memorySize });
    const loaded = await environment.load(code, { timeoutMs: Math.min(initTimeoutMs, config.timeout * 1000 + initTimeoutMs) });
    if (!loaded.ok) {
      await environment.destroy();
      // Not cached for long: Lambda retries init on the next invocation too.
      setTimeout(() => { if (this.pools.get(pool.key) === pool) pool.prepared = undefined; }, 1000).unref();
      return { kind: 'failed', error: loaded.error, logs: loaded.logs };
    }
    const image = await environment.snapshot();
    await this.deps.snapshots.save(config, driver.buildHash, driver.exportImage(image));
    pool.live++;
    this.handBack(pool, environment);
    return { kind: 'image', image };
  }

  private async acquire(pool: Pool, config: FunctionConfigV1, image: SnapshotImage, limit: number): Promise<{ environment: Environment; start: EnvironmentStart }> {
    // Reserved concurrency 0 throttles everything, even with an environment idle (Lambda's
    // "PutFunctionConcurrency": 0 stops all invocations).
    if (limit === 0) throw new LambdaError('TooManyRequestsException', 'Rate Exceeded.');
    const idle = pool.idle.pop();
    if (idle) return { environment: idle, start: 'warm' };
    if (pool.live < limit) {
      pool.live++;
      try {
        return { environment: await this.restoreOne(config, image), start: 'restored' };
      } catch (error) {
        pool.live--;
        throw error;
      }
    }
    if (pool.waiters.length >= waitersPerFunctionMax) throw new LambdaError('TooManyRequestsException', 'Rate Exceeded.');
    const handed = await new Promise<Environment | Error>((resolve) => pool.waiters.push(resolve));
    if (handed instanceof Error) throw handed;
    return { environment: handed, start: 'warm' };
  }

  private async restoreOne(config: FunctionConfigV1, image: SnapshotImage): Promise<Environment> {
    this.restores++;
    return (await this.deps.driver.get()).restore(image, { limits: { memoryMb: config.memorySize } });
  }

  private async restoreInto(pool: Pool, config: FunctionConfigV1, image: SnapshotImage): Promise<void> {
    pool.live++;
    try {
      this.handBack(pool, await this.restoreOne(config, image));
    } catch (error) {
      pool.live--;
      this.deps.onError?.(error, 'restore');
    }
  }

  private release(pool: Pool, config: FunctionConfigV1, image: SnapshotImage, environment: Environment, reuse: boolean): void {
    if (reuse) {
      this.handBack(pool, environment);
      return;
    }
    this.discard(pool, environment);
    // Seed 7: the environment is gone; a fresh restore of the saved state takes its place.
    if (this.pools.get(pool.key) === pool) void this.restoreInto(pool, config, image);
  }

  private handBack(pool: Pool, environment: Environment): void {
    const waiter = pool.waiters.shift();
    if (waiter) waiter(environment);
    else if (this.pools.get(pool.key) === pool) pool.idle.push(environment);
    else this.discard(pool, environment);
  }

  private discard(pool: Pool, environment: Environment): void {
    pool.live--;
    assert(pool.live >= 0, 'pool counts its environments');
    void environment.destroy().catch((error) => this.deps.onError?.(error, 'destroy'));
  }
}

function limitOf(concurrency: number | null): number {
  return Math.min(concurrency ?? concurrencyPerFunctionDefault, concurrencyPerFunctionMax);
}
