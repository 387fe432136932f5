// Whole-body digests off the main thread. On a 1 GiB single-stream PUT the MD5 ETag and the SDK's
// CRC32 trailer were ~20 % of the main thread's CPU, and the main thread (decode, chunk, serve
// sockets) is what bounds a PUT while the seal pool idles. A body's bytes are copied into staging
// buffers that are transferred to one worker, hashed there in order (one port keeps messages in
// order), and transferred back for reuse: no ArrayBuffer allocation per message once warm.
//
// One worker per process, started on first use and unref'd while nothing is outstanding (like
// blobs' seal pool: threads are a process-wide resource). Its death fails the bodies in progress
// with InternalError (never a wrong ETag); the next body starts a replacement.
import type { Worker } from 'node:worker_threads';
import { assert } from '../../dedup/errors.js';
import { siblingModule, startModuleWorker } from '../../blockstore/blobs/index.js';
import { S3Error } from '../s3-errors.js';
import { digestLimits } from '../limits.js';
import type { ChecksumAlgorithm } from './digesters.js';
import type { DigestReply, DigestRequest } from './digest-worker.js';

interface SessionState {
  /** Staging buffers at the worker, not yet returned. */
  inFlight: number;
  roomWaiter?: () => void;
  finished?: { resolve(digests: ReadonlyMap<ChecksumAlgorithm, Buffer>): void; reject(error: unknown): void };
  failure?: unknown;
}

export class DigestThread {
  private worker: Worker | undefined;
  private readonly sessions = new Map<number, SessionState>();
  private readonly pooled: ArrayBuffer[] = [];
  private nextSession = 1;
  /** Messages whose reply is due: while any is, the worker keeps the process alive. */
  private awaited = 0;

  /** `entry`: the worker module; tests substitute one that crashes on demand. */
  constructor(private readonly entry: URL = siblingModule(import.meta.url, 'digest-worker')) {}

  open(algorithms: ChecksumAlgorithm[]): number {
    assert(this.sessions.size < digestLimits.sessionsMax, 'digest sessions leak: every body must finish or abandon');
    const session = this.nextSession++;
    this.sessions.set(session, { inFlight: 0 });
    this.post({ kind: 'open', session, algorithms });
    return session;
  }

  stagingBuffer(): Buffer {
    // allocUnsafeSlow: an ArrayBuffer of its own (pooled slices cannot be transferred), not zeroed.
    return Buffer.from(this.pooled.pop() ?? Buffer.allocUnsafeSlow(digestLimits.stagingBytes).buffer);
  }

  recycle(buffer: ArrayBuffer): void {
    if (this.pooled.length < digestLimits.buffersPooledMax) this.pooled.push(buffer);
  }

  /** Hands `length` bytes of `staging` to the worker; `staging` is detached afterwards. */
  send(session: number, staging: Buffer, length: number): void {
    const state = this.live(session);
    assert(staging.byteOffset === 0 && staging.buffer.byteLength === digestLimits.stagingBytes, 'staging buffer owns its ArrayBuffer');
    state.inFlight++;
    this.expectReply();
    const buffer = staging.buffer as ArrayBuffer;
    this.post({ kind: 'data', session, buffer, length }, [buffer]);
  }

  /** undefined while the body has room at the worker; else a promise for when it has. */
  room(session: number): Promise<void> | undefined {
    const state = this.live(session);
    if (state.inFlight < digestLimits.buffersInFlightPerBody) return undefined;
    assert(state.roomWaiter === undefined, 'one writer per digest session');
    return new Promise<void>((resolve) => { state.roomWaiter = resolve; }).then(() => { this.live(session); });
  }

  /** Sends the body's last `length` bytes of `staging` (if any), then asks for the digests. */
  finish(session: number, staging: Buffer | undefined, length: number): Promise<ReadonlyMap<ChecksumAlgorithm, Buffer>> {
    const state = this.sessions.get(session);
    assert(state !== undefined && state.finished === undefined, `digest session ${session} finished twice`);
    if (state.failure !== undefined) {
      this.sessions.delete(session);
      return Promise.reject(state.failure);
    }
    if (staging !== undefined && length > 0) this.send(session, staging, length);
    else if (staging !== undefined) this.recycle(staging.buffer as ArrayBuffer);
    return new Promise((resolve, reject) => {
      state.finished = { resolve, reject };
      this.expectReply();
      this.post({ kind: 'finish', session });
    });
  }

  drop(session: number): void {
    if (!this.sessions.delete(session)) return;
    if (this.worker !== undefined) this.post({ kind: 'drop', session });
  }

  /** Terminates the worker (its bodies fail). For tests: the process-wide thread is never closed. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lose(worker, new Error('digest thread closed'));
    await worker.terminate();
  }

  private live(session: number): SessionState {
    const state = this.sessions.get(session);
    assert(state !== undefined, `digest session ${session} used after it ended`);
    if (state.failure !== undefined) throw state.failure;
    return state;
  }

  private post(request: DigestRequest, transfer: ArrayBuffer[] = []): void {
    this.worker ??= this.start();
    this.worker.postMessage(request, transfer);
  }

  private expectReply(): void {
    if (this.awaited++ === 0) this.worker?.ref();
  }

  private replied(): void {
    assert(this.awaited > 0, 'digest worker replied more than it was asked');
    if (--this.awaited === 0) this.worker?.unref();
  }

  private start(): Worker {
    const worker = startModuleWorker(this.entry, {
      resourceLimits: { maxYoungGenerationSizeMb: digestLimits.workerYoungGenerationMb, maxOldGenerationSizeMb: digestLimits.workerOldGenerationMb },
    });
    worker.unref();
    worker.on('message', (reply: DigestReply) => this.settle(reply));
    worker.on('error', (error) => this.lose(worker, error));
    worker.on('messageerror', (error) => this.lose(worker, error));
    worker.on('exit', (code) => this.lose(worker, new Error(`digest worker exited with code ${code}`)));
    return worker;
  }

  private settle(reply: DigestReply): void {
    this.replied();
    const state = this.sessions.get(reply.session);
    if (reply.kind === 'returned') {
      this.recycle(reply.buffer);
      if (state === undefined) return; // a dropped body's buffer, sent before the drop
      state.inFlight--;
      const wake = state.roomWaiter;
      state.roomWaiter = undefined;
      wake?.();
      return;
    }
    assert(state?.finished !== undefined, `digests for digest session ${reply.session} that was not finishing`);
    this.sessions.delete(reply.session);
    state.finished.resolve(new Map(reply.digests.map(([algorithm, bytes]) => [algorithm, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)])));
  }

  /** Fails every body in progress; each stays failed until its owner finishes or drops it. */
  private lose(worker: Worker, cause: unknown): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.awaited = 0;
    const failure = new S3Error('InternalError', undefined, { cause });
    for (const [session, state] of this.sessions) {
      state.failure = failure;
      const { finished, roomWaiter } = state;
      state.roomWaiter = undefined;
      if (finished) { this.sessions.delete(session); finished.reject(failure); }
      roomWaiter?.();
    }
    void worker.terminate();
  }
}

let processThread: DigestThread | undefined;

/**
 * A ChecksumSet whose hashing runs on the digest worker. update() copies the bytes (the caller
 * may reuse `data` at once) and returns a promise when this body already has
 * buffersInFlightPerBody staging buffers at the worker: await it before the next update.
 * Every instance must end in digest() or abandon(), or its session stays open.
 */
export class OffThreadChecksumSet {
  private readonly thread: DigestThread;
  private readonly algorithms: ChecksumAlgorithm[];
  /** Opened by the first update() or digest(): a request that fails before its body is read
   *  (a bad key, a refused header) never calls abandon(), so it must not hold a session. */
  private opened: number | undefined;
  private staging: Buffer | undefined;
  private filled = 0;
  private ended = false;

  /** `thread`: the process-wide one unless a test brings its own. */
  constructor(algorithms: Iterable<ChecksumAlgorithm>, thread?: DigestThread) {
    this.thread = thread ?? (processThread ??= new DigestThread());
    this.algorithms = [...algorithms];
  }

  private get session(): number {
    this.opened ??= this.thread.open(this.algorithms);
    return this.opened;
  }

  update(data: Uint8Array): Promise<void> | undefined {
    assert(!this.ended, 'OffThreadChecksumSet.update after digest or abandon');
    for (let at = 0; at < data.length;) {
      this.staging ??= this.thread.stagingBuffer();
      const bytes = Math.min(data.length - at, this.staging.length - this.filled);
      this.staging.set(data.subarray(at, at + bytes), this.filled);
      this.filled += bytes;
      at += bytes;
      if (this.filled === this.staging.length) this.flush();
    }
    return this.thread.room(this.session);
  }

  /** The digests of everything updated, by algorithm; rejects with InternalError if the worker died. */
  async digest(): Promise<ReadonlyMap<ChecksumAlgorithm, Buffer>> {
    assert(!this.ended, 'OffThreadChecksumSet.digest twice');
    const { staging, filled } = this;
    this.release();
    return this.thread.finish(this.session, staging, filled);
  }

  /** The body will not be finished (its upload failed): forget its hashes. Idempotent. */
  abandon(): void {
    if (this.ended) return;
    if (this.staging !== undefined) this.thread.recycle(this.staging.buffer as ArrayBuffer);
    this.release();
    if (this.opened !== undefined) this.thread.drop(this.opened);
  }

  private flush(): void {
    const staging = this.staging!;
    this.staging = undefined;
    const length = this.filled;
    this.filled = 0;
    this.thread.send(this.session, staging, length);
  }

  private release(): void {
    this.ended = true;
    this.staging = undefined;
    this.filled = 0;
  }
}
