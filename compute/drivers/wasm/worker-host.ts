// Main-thread side of one worker: request/reply by id, and the hard backstop for timeouts
// (worker.terminate() when a guest ignores the engine's interrupt past deadline + grace).
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../../../blockstore/blobs/index.js';
import { assert, AssertionError } from '../../../dedup/errors.js';
import { DriverError, type DriverErrorCode } from '../driver.js';
import { imagesPerWorkerMax, workerStackMb } from '../limits.js';
import type { ImageReference, WorkerEnvelope, WorkerOptions, WorkerReplies, WorkerReply, WorkerRequest } from './worker-protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onTerminated?: () => unknown; // what a call answers when its worker is killed (timeouts)
  backstop?: NodeJS.Timeout;
}

function spawn(options: WorkerOptions): Worker {
  return startModuleWorker(siblingModule(import.meta.url, 'worker-entry'), { workerData: options, resourceLimits: { stackSizeMb: workerStackMb } });
}

export class WorkerHost {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private outbox: WorkerEnvelope[] = [];
  private nextId = 1;
  private alive = true;
  private readonly images = new Set<number>(); // image keys the worker holds, oldest first
  environments = 0;
  readonly ready: Promise<string>; // resolves with the build hash the worker runs

  constructor(options: WorkerOptions, private readonly onExit: (host: WorkerHost) => void) {
    this.worker = spawn(options);
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve: (hash) => resolve(hash as string), reject }));
    this.worker.on('message', (replies: WorkerReply[]) => { for (const reply of replies) this.settle(reply); });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', () => this.fail(new DriverError('EnvironmentDestroyed', 'worker thread exited')));
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /**
   * Sends a request. With `backstopMs`, the worker is terminated if no reply arrives in time and
   * the call resolves with `onTerminated()` instead; every other call on it rejects.
   */
  call<Op extends WorkerRequest['op']>(request: Extract<WorkerRequest, { op: Op }>, backstop?: { ms: number; onTerminated: () => WorkerReplies[Op] }): Promise<WorkerReplies[Op]> {
    if (!this.alive) return Promise.reject(new DriverError('EnvironmentDestroyed', 'worker thread is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (value: unknown) => void, reject };
      if (backstop) {
        entry.onTerminated = backstop.onTerminated;
        entry.backstop = setTimeout(() => void this.terminate(), backstop.ms);
      }
      this.pending.set(id, entry);
      this.outbox.push({ id, ...request });
      if (this.outbox.length === 1) setImmediate(() => this.flush());
    });
  }

  // Requests made during one turn of the event loop (e.g. the invokes of every HTTP request that
  // arrived together) cross in ONE message: each postMessage wakes the worker thread, and on a
  // loaded machine each wake-up costs the caller its time slice. setImmediate runs right after
  // the current I/O callbacks, so a lone call waits for no timer.
  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (batch.length > 0 && this.alive) this.worker.postMessage(batch);
  }

  /** How to name `key` to the worker: bytes only the first time; evicts the oldest beyond the cap. */
  imageReference(key: number, bytes: Uint8Array): ImageReference {
    if (this.images.has(key)) {
      this.images.delete(key); // re-inserted below: most recently used last
      this.images.add(key);
      return { key };
    }
    const forget: number[] = [];
    for (const old of this.images) {
      if (this.images.size - forget.length < imagesPerWorkerMax) break;
      forget.push(old);
    }
    for (const old of forget) this.images.delete(old);
    this.images.add(key);
    assert(this.images.size <= imagesPerWorkerMax, 'worker image cache bounded');
    return forget.length > 0 ? { key, bytes, forget } : { key, bytes };
  }

  /** After a failed restore: the worker may not hold the image, so send its bytes next time. */
  forgetImage(key: number): void {
    this.images.delete(key);
  }

  async terminate(): Promise<void> {
    if (!this.alive) return;
    await this.worker.terminate();
    this.fail(new DriverError('EnvironmentDestroyed', 'worker thread terminated'));
  }

  private settle(reply: WorkerReply): void {
    const entry = this.pending.get(reply.id);
    assert(entry !== undefined, `reply to unknown request ${reply.id}`);
    this.pending.delete(reply.id);
    if (entry.backstop) clearTimeout(entry.backstop);
    if (reply.ok) entry.resolve(reply.value);
    else entry.reject(reply.error.name === 'DriverError'
      ? new DriverError(reply.error.code as DriverErrorCode, reply.error.message)
      : reply.error.name === 'AssertionError' ? new AssertionError(`in worker: ${reply.error.message}`) : new Error(reply.error.message));
  }

  private fail(error: unknown): void {
    if (!this.alive) return;
    this.alive = false;
    for (const entry of this.pending.values()) {
      if (entry.backstop) clearTimeout(entry.backstop);
      if (entry.onTerminated) entry.resolve(entry.onTerminated());
      else entry.reject(error);
    }
    this.pending.clear();
    this.onExit(this);
  }
}
