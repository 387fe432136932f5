// The `wasm` MicroVmDriver: QuickJS-in-WebAssembly environments spread over worker threads.
// Environments are placed on the worker holding the fewest; a worker that dies (terminated as
// the timeout backstop) takes its environments with it and is replaced for new ones.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { assert } from '../../../dedup/errors.js';
import {
  DriverError, type Environment, type EnvironmentId, type EnvironmentLimits, type FunctionCode, type InvokeOutcome,
  type InvokeRequest, type LoadOutcome, type MicroVmDriver, type RestoreOptions, type SnapshotImage,
} from '../driver.js';
import { poolSizeDefault, poolSizeMax, terminateGraceMs, timeoutMsMax, timeoutMsMin, workersDefault, workersMax } from '../limits.js';
import { validateLimits } from './engine.js';
import { decodeWasmImageV1 } from './image.js';
import { timeoutError } from './engine-settle.js';
import { WorkerHost } from './worker-host.js';
import type { WorkerStats } from './worker-protocol.js';

export interface WasmDriverOptions {
  workers?: number;  // worker threads (default limits.workersDefault)
  poolSize?: number; // blank instances each worker keeps ready per memory shape
}

/** sha256 of the .wasm this process would load: what images are bound to. */
export function wasmBuildHash(): string {
  const path = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function validateTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs < timeoutMsMin || timeoutMs > timeoutMsMax) {
    throw new DriverError('LimitsInvalid', `timeoutMs must be in [${timeoutMsMin}, ${timeoutMsMax}], got ${timeoutMs}`);
  }
}

export class WasmDriver implements MicroVmDriver {
  readonly kind = 'wasm' as const;
  private readonly hosts: WorkerHost[] = [];
  private nextEnvironment = 1;
  // Images are immutable values (driver.ts): one validation and one key per bytes object, so a
  // worker is sent an image's bytes once and later restores name it by key.
  private readonly imageKeys = new WeakMap<Uint8Array, number>();
  private nextImageKey = 1;
  private closed = false;

  private constructor(readonly buildHash: string, private readonly workerCount: number, private readonly poolSize: number) {}

  static async start(options: WasmDriverOptions = {}): Promise<WasmDriver> {
    const workers = options.workers ?? workersDefault;
    const poolSize = options.poolSize ?? poolSizeDefault;
    assert(Number.isInteger(workers) && workers >= 1 && workers <= workersMax, 'workers in bounds');
    assert(Number.isInteger(poolSize) && poolSize >= 0 && poolSize <= poolSizeMax, 'pool size in bounds');
    const driver = new WasmDriver(wasmBuildHash(), workers, poolSize);
    for (let i = 0; i < workers; i++) driver.hosts.push(driver.newHost());
    const hashes = await Promise.all(driver.hosts.map((host) => host.ready));
    assert(hashes.every((hash) => hash === driver.buildHash), 'workers run the build this process hashed');
    return driver;
  }

  async create(limits: EnvironmentLimits): Promise<Environment> {
    validateLimits(limits);
    const host = this.placement();
    const id = this.newId();
    await host.call({ op: 'create', environmentId: id, limits });
    return new WasmEnvironment(id, host, this.buildHash);
  }

  async restore(image: SnapshotImage, options: RestoreOptions = {}): Promise<Environment> {
    const key = this.imageKeyOf(image.bytes); // validates kind, version and build before a worker sees it
    if (options.limits) validateLimits(options.limits);
    const host = this.placement();
    const id = this.newId();
    try {
      await host.call({ op: 'restore', environmentId: id, image: host.imageReference(key, image.bytes), limits: options.limits, seed: options.seed });
    } catch (error) {
      host.forgetImage(key);
      throw error;
    }
    return new WasmEnvironment(id, host, this.buildHash);
  }

  async warm(limits: EnvironmentLimits, count: number): Promise<void> {
    validateLimits(limits);
    const perWorker = Math.min(poolSizeMax, Math.ceil(count / this.hosts.length));
    await Promise.all(this.liveHosts().map((host) => host.call({ op: 'warm', limits, count: perWorker })));
  }

  exportImage(image: SnapshotImage): Uint8Array {
    assert(image.driver === 'wasm', 'exportImage: image of another driver');
    return image.bytes;
  }

  importImage(bytes: Uint8Array): SnapshotImage {
    decodeWasmImageV1(bytes, this.buildHash);
    return { driver: 'wasm', buildHash: this.buildHash, bytes };
  }

  private imageKeyOf(bytes: Uint8Array): number {
    let key = this.imageKeys.get(bytes);
    if (key === undefined) {
      this.importImage(bytes);
      key = this.nextImageKey++;
      this.imageKeys.set(bytes, key);
    }
    return key;
  }

  async stats(): Promise<WorkerStats[]> {
    return Promise.all(this.liveHosts().map((host) => host.call({ op: 'stats' })));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.hosts.map((host) => host.terminate()));
  }

  private newHost(): WorkerHost {
    return new WorkerHost({ poolSize: this.poolSize }, (dead) => {
      const index = this.hosts.indexOf(dead);
      if (index >= 0 && !this.closed) this.hosts[index] = this.newHost();
    });
  }

  private liveHosts(): WorkerHost[] {
    return this.hosts.filter((host) => host.isAlive);
  }

  private placement(): WorkerHost {
    if (this.closed) throw new DriverError('EnvironmentDestroyed', 'driver closed');
    const hosts = this.liveHosts();
    assert(hosts.length === this.workerCount, 'every worker slot is filled');
    return hosts.reduce((best, host) => (host.environments < best.environments ? host : best));
  }

  private newId(): EnvironmentId {
    return `wasm-${this.nextEnvironment++}` as EnvironmentId;
  }
}

class WasmEnvironment implements Environment {
  private destroyed = false;

  constructor(readonly id: EnvironmentId, private readonly host: WorkerHost, private readonly buildHash: string) {
    host.environments++;
  }

  load(code: FunctionCode, options: { timeoutMs: number }): Promise<LoadOutcome> {
    validateTimeout(options.timeoutMs);
    const onTerminated = (): LoadOutcome => ({ ok: false, error: timeoutError(options.timeoutMs, 'init'), logs: '', durationMs: options.timeoutMs, environment: 'discard' });
    return this.host.call({ op: 'load', environmentId: this.id, files: { ...code.files }, handler: code.handler, timeoutMs: options.timeoutMs },
      { ms: options.timeoutMs + terminateGraceMs, onTerminated });
  }

  snapshot(): Promise<SnapshotImage> {
    return this.host.call({ op: 'snapshot', environmentId: this.id }).then((bytes) => ({ driver: 'wasm' as const, buildHash: this.buildHash, bytes }));
  }

  invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    validateTimeout(request.timeoutMs);
    const onTerminated = (): InvokeOutcome => ({
      ok: false, error: timeoutError(request.timeoutMs, request.context.requestId),
      logs: `${new Date().toISOString()} ${request.context.requestId} Task timed out after ${(request.timeoutMs / 1000).toFixed(2)} seconds\n`,
      durationMs: request.timeoutMs + terminateGraceMs, environment: 'discard',
    });
    return this.host.call({ op: 'invoke', environmentId: this.id, request }, { ms: request.timeoutMs + terminateGraceMs, onTerminated });
  }

  async resizeMemory(memoryMb: number): Promise<void> {
    await this.host.call({ op: 'resize', environmentId: this.id, memoryMb });
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.host.environments--;
    if (this.host.isAlive) await this.host.call({ op: 'destroy', environmentId: this.id });
  }
}
