// Sealing and opening chunks off the main thread. The convergent seal (sha256 key, AES-256-GCM,
// sha256 id) is ~75 % of a PUT's CPU and runs at ~430 MB/s on one core (LIMITS.md); with two
// worker threads sealing while the main thread chunks and serves sockets, the pipeline reaches
// ~750–800 MB/s. Results are byte-identical to dedup's sealChunk / openChunk: the worker runs
// the same functions (seal-batch.ts).
//
// One pool per process, started lazily on first use (STYLE.md warns against module-level state;
// this is the exception the brief asks for: CPU threads are a process-wide resource, and callers
// in blobs/ and volumes/ must share them rather than each start their own). Its workers are
// unref'd while idle, so an idle process exits without anyone closing the pool.
//
// Flow: calls queue jobs; once per event-loop turn (setImmediate, as compute's worker host does)
// queued jobs are packed into batches — one transferred ArrayBuffer each (seal-batch.ts) — and
// sent to the worker with the fewest batches in hand, at most batchesPerWorkerMax each. Past
// queuedJobsMax queued jobs, callers wait to be admitted: the pool never holds more than that,
// and a caller that awaits its calls (a bounded window) is slowed to the workers' pace.
// A worker that dies rejects the jobs it held with SealWorkerFailed; the next dispatch starts a
// replacement. Queued jobs not yet sent are unaffected.
//
// Leases: a batch buffer allocated per batch is the largest allocation of a PUT (about the
// stream's own size again), and it lives until the chunks are durable — long enough to be
// promoted, so V8 counted it as old-generation external memory and ran a mark-compact every
// ~25–50 MB streamed (a 1 GiB PUT: ~60, ~3 s of GC helper threads). Callers that know when they
// are done with a result (the chunk is written, the block copied) take it leased and release it;
// a batch whose jobs were all leased and all released goes back to a small free list and is
// transferred again, instead of a fresh one. A job taken without a lease pins its batch to GC, as
// before, so the plain functions stay safe for any caller.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { AssertionError, assert } from '../../dedup/errors.js';
import {
  DedupError, chunkIdFromBytes, dedupLimits, openChunk, openPagedBlock, type DedupErrorCode, type PagedFormat, type SealedChunk,
} from '../../dedup/index.js';
import type { Leased } from '../chunks/index.js';
import { BlobError } from './errors.js';
import { sealPoolLimits } from './limits.js';
import { siblingModule, startModuleWorker } from './module-worker.js';
import {
  openSlotHeadBytes, outputBytesOf, sealSlotHeadBytes, slotBytesOf, type SealBatchReply, type SealFormat, type SealJobFailure,
  type SealJobKind, type SealJobSlot,
} from './seal-batch.js';

export type { Leased, SealFormat };

interface Job {
  kind: SealJobKind;
  format: SealFormat;
  head: Uint8Array; // salt (seal) or key (open)
  input: Uint8Array;
  /** The caller will release its result: the batch buffer may be reused once all are released. */
  leased: boolean;
  resolve(result: { slot: Buffer; release: () => void }): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  /** Batches sent and not answered, by batch number: the jobs to settle with the reply. */
  batches: Map<number, { jobs: Job[]; slots: SealJobSlot[] }>;
  alive: boolean;
}

export interface SealPoolOptions {
  workers: number;
  /** Worker entry module; tests substitute one that crashes on demand. */
  entry?: URL;
}

export class SealPool {
  private readonly queue: Job[] = [];
  private readonly workers: PoolWorker[] = [];
  private readonly admission: (() => void)[] = [];
  /** Released batch buffers of batchBytesMax bytes, transferred again by the next batches. */
  private readonly freeBuffers: ArrayBuffer[] = [];
  private dispatchScheduled = false;
  private nextBatch = 1;
  private closed = false;

  constructor(private readonly options: SealPoolOptions) {
    assert(Number.isSafeInteger(options.workers) && options.workers >= 1 && options.workers <= sealPoolLimits.workersMax, 'seal pool worker count out of range');
  }

  /** See sealChunkOffThread; a paged `format`: sealPagedBlockOffThread. */
  async seal(plaintext: Uint8Array, salt: Uint8Array, format: SealFormat = 'chunk'): Promise<SealedChunk> {
    return (await this.sealJob(plaintext, salt, format, false)).value;
  }

  /** seal(), the result leased (see Leased): release it once the ciphertext is written. */
  sealLeased(plaintext: Uint8Array, salt: Uint8Array, format: SealFormat = 'chunk'): Promise<Leased<SealedChunk>> {
    return this.sealJob(plaintext, salt, format, true);
  }

  /** See openChunkOffThread; a paged `format`: openPagedBlockOffThread. */
  async open(ciphertext: Uint8Array, key: Uint8Array, format: SealFormat = 'chunk'): Promise<Buffer> {
    return (await this.openJob(ciphertext, key, format, false)).value;
  }

  /** open(), the result leased (see Leased): release it once the plaintext is copied or sent. */
  openLeased(ciphertext: Uint8Array, key: Uint8Array, format: SealFormat = 'chunk'): Promise<Leased<Buffer>> {
    return this.openJob(ciphertext, key, format, true);
  }

  private async sealJob(plaintext: Uint8Array, salt: Uint8Array, format: SealFormat, leased: boolean): Promise<Leased<SealedChunk>> {
    assert(plaintext.length <= dedupLimits.chunkBytesMax, 'chunk larger than chunkBytesMax');
    assert(format === 'chunk' || plaintext.length === dedupLimits.volumeBlockBytes, 'a paged seal takes one whole volume block');
    assert(salt.length === dedupLimits.saltBytes, 'salt must be 32 bytes');
    const { slot, release } = await this.submit('seal', format, salt, plaintext, leased);
    const keyBytes = dedupLimits.chunkKeyBytes;
    // The worker's sealChunkInto hashed exactly these ciphertext bytes into this id, and the
    // buffer came back transferred (no one else can write to it): a SealedChunk by construction.
    const value = {
      id: chunkIdFromBytes(slot.subarray(0, keyBytes)),
      // A copy: manifests keep keys for the object's life, and a view would pin the whole batch.
      key: Buffer.from(slot.subarray(keyBytes, sealSlotHeadBytes)),
      ciphertext: slot.subarray(sealSlotHeadBytes, sealSlotHeadBytes + outputBytesOf('seal', format, plaintext.length)),
    } as SealedChunk;
    return { value, release };
  }

  private async openJob(ciphertext: Uint8Array, key: Uint8Array, format: SealFormat, leased: boolean): Promise<Leased<Buffer>> {
    assert(key.length === dedupLimits.chunkKeyBytes, 'chunk key must be 32 bytes');
    // An impossible length gets dedup's own error without a trip to a worker.
    if (format !== 'chunk' && ciphertext.length !== dedupLimits.pagedBlockCiphertextBytesOf(format)) {
      return { value: openPagedBlock(ciphertext, key, format), release: noRelease };
    }
    const bodyLength = ciphertext.length - dedupLimits.aeadTagBytes;
    if (format === 'chunk' && (bodyLength < 0 || bodyLength > dedupLimits.chunkBytesMax)) return { value: openChunk(ciphertext, key), release: noRelease };
    const { slot, release } = await this.submit('open', format, key, ciphertext, leased);
    return { value: slot.subarray(openSlotHeadBytes, openSlotHeadBytes + outputBytesOf('open', format, ciphertext.length)), release };
  }

  /** Terminates the workers; pending jobs reject. For tests: the process-wide pool is never closed. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((entry) => entry.worker.terminate()));
  }

  private async submit(kind: SealJobKind, format: SealFormat, head: Uint8Array, input: Uint8Array, leased: boolean): Promise<{ slot: Buffer; release: () => void }> {
    assert(!this.closed, 'seal pool used after close');
    while (this.queue.length >= sealPoolLimits.queuedJobsMax) {
      assert(this.admission.length < sealPoolLimits.admissionWaitersMax, 'seal pool callers fan out without bound');
      await new Promise<void>((resolve) => this.admission.push(resolve));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, format, head, input, leased, resolve, reject });
      if (!this.dispatchScheduled) {
        this.dispatchScheduled = true;
        setImmediate(() => { this.dispatchScheduled = false; this.dispatch(); });
      }
    });
  }

  private dispatch(): void {
    for (;;) {
      if (this.queue.length === 0 || this.closed) break;
      const target = this.workerWithRoom();
      if (target === undefined) break;
      this.send(target, this.takeBatch());
    }
    while (this.admission.length > 0 && this.queue.length < sealPoolLimits.queuedJobsMax) this.admission.shift()!();
  }

  /** The live worker holding the fewest batches, starting one while below the pool's size. */
  private workerWithRoom(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const entry of this.workers) if (best === undefined || entry.batches.size < best.batches.size) best = entry;
    if ((best === undefined || best.batches.size > 0) && this.workers.length < this.options.workers) best = this.start();
    return best !== undefined && best.batches.size < sealPoolLimits.batchesPerWorkerMax ? best : undefined;
  }

  private takeBatch(): Job[] {
    const jobs: Job[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && jobs.length < sealPoolLimits.batchJobsMax) {
      const next = this.queue[0];
      const nextBytes = slotBytesOf(next.kind, next.format, next.input.length);
      if (jobs.length > 0 && bytes + nextBytes > sealPoolLimits.batchBytesMax) break;
      jobs.push(this.queue.shift()!);
      bytes += nextBytes;
    }
    assert(jobs.length > 0, 'a batch holds at least one job');
    return jobs;
  }

  /** Copies each job's input into its slot of one batch buffer and transfers that buffer. */
  private send(target: PoolWorker, jobs: Job[]): void {
    let total = 0;
    const slots = jobs.map((job): SealJobSlot => {
      const slot = { kind: job.kind, format: job.format, offset: total, length: job.input.length };
      total += slotBytesOf(job.kind, job.format, job.input.length);
      return slot;
    });
    const bytes = this.batchBuffer(total, jobs.every((job) => job.leased));
    jobs.forEach((job, index) => {
      const { offset } = slots[index];
      bytes.set(job.head, offset);
      bytes.set(job.input, offset + (job.kind === 'seal' ? sealSlotHeadBytes : openSlotHeadBytes));
    });
    const batch = this.nextBatch++;
    if (target.batches.size === 0) target.worker.ref(); // pending work keeps the process alive
    target.batches.set(batch, { jobs, slots });
    const buffer = bytes.buffer as ArrayBuffer; // never shared: batchBuffer made or reused it
    target.worker.postMessage({ batch, buffer, slots }, [buffer]);
  }

  /**
   * A released buffer when the batch fits one; else a new one, of the reusable size only for a
   * batch that may be reused (all leased), so unleased batches (GET opens) stay exactly sized.
   */
  private batchBuffer(total: number, reusable: boolean): Buffer {
    const fits = reusable && total <= sealPoolLimits.batchBytesMax;
    const reused = fits ? this.freeBuffers.pop() : undefined;
    // allocUnsafeSlow: an ArrayBuffer of its own (pooled ones cannot be transferred), not zeroed.
    const bytes = reused !== undefined ? Buffer.from(reused) : Buffer.allocUnsafeSlow(fits ? sealPoolLimits.batchBytesMax : total);
    assert(bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength && bytes.length >= total, 'batch buffer owns its ArrayBuffer');
    return bytes;
  }

  private start(): PoolWorker {
    const entry: PoolWorker = { worker: spawnSealWorker(this.options.entry), batches: new Map(), alive: true };
    entry.worker.unref();
    entry.worker.on('message', (reply: SealBatchReply) => this.settle(entry, reply));
    entry.worker.on('error', (error) => this.lose(entry, error));
    entry.worker.on('messageerror', (error) => this.lose(entry, error));
    entry.worker.on('exit', (code) => this.lose(entry, new Error(`seal worker exited with code ${code}`)));
    this.workers.push(entry);
    return entry;
  }

  private settle(entry: PoolWorker, reply: SealBatchReply): void {
    const sent = entry.batches.get(reply.batch);
    assert(sent !== undefined, `reply to unknown seal batch ${reply.batch}`);
    entry.batches.delete(reply.batch);
    if (entry.batches.size === 0) entry.worker.unref();
    const bytes = Buffer.from(reply.buffer);
    const release = this.releaserOf(sent.jobs, reply);
    sent.jobs.forEach((job, index) => {
      const failure = reply.failures[index];
      const { kind, format, offset, length } = sent.slots[index];
      if (failure === null) job.resolve({ slot: bytes.subarray(offset, offset + slotBytesOf(kind, format, length)), release: release() });
      else job.reject(errorOf(failure));
    });
    this.dispatch();
  }

  /**
   * Hands out one release function per successful job; when every one has been called, the
   * buffer joins the free list. A batch with an unleased job (or of an odd size) is never reused.
   */
  private releaserOf(jobs: readonly Job[], reply: SealBatchReply): () => () => void {
    const reusable = reply.buffer.byteLength === sealPoolLimits.batchBytesMax && jobs.every((job) => job.leased);
    if (!reusable) return () => noRelease;
    let outstanding = reply.failures.filter((failure) => failure === null).length;
    const returned = (): void => {
      if (--outstanding === 0 && this.freeBuffers.length < sealPoolLimits.freeBatchBuffersMax) this.freeBuffers.push(reply.buffer);
    };
    return () => {
      let released = false;
      return () => {
        assert(!released, 'a leased seal-pool result is released once');
        released = true;
        returned();
      };
    };
  }

  private lose(entry: PoolWorker, cause: unknown): void {
    if (!entry.alive) return;
    entry.alive = false;
    this.workers.splice(this.workers.indexOf(entry), 1);
    const error = new BlobError('SealWorkerFailed', `seal worker failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    for (const { jobs } of entry.batches.values()) for (const job of jobs) job.reject(error);
    entry.batches.clear();
    if (!this.closed) void entry.worker.terminate();
    this.dispatch(); // starts a replacement if jobs are waiting
  }
}

function noRelease(): void {}

/** Rebuilds a worker's failure with its class: DedupError codes stay codes, bugs stay bugs. */
function errorOf(failure: SealJobFailure): Error {
  if (failure.name === 'DedupError') return new DedupError(failure.code as DedupErrorCode, failure.message);
  if (failure.name === 'AssertionError') return new AssertionError(`in seal worker: ${failure.message}`);
  return new Error(`in seal worker: ${failure.name}: ${failure.message}`);
}

function spawnSealWorker(entry?: URL): Worker {
  // A worker keeps almost nothing on its JS heap; what it allocates are node:crypto's output
  // Buffers, freed only when its heap is collected. A small young generation collects them
  // sooner: measured ~34 → ~26 MiB of malloc arena held per worker after 3,000 seals.
  const resourceLimits = {
    maxYoungGenerationSizeMb: sealPoolLimits.workerYoungGenerationMb,
    maxOldGenerationSizeMb: sealPoolLimits.workerOldGenerationMb,
  };
  return startModuleWorker(entry ?? siblingModule(import.meta.url, 'seal-worker'), { resourceLimits });
}

let processPool: SealPool | undefined;

function processSealPool(): SealPool {
  processPool ??= new SealPool({ workers: Math.min(sealPoolLimits.workersMax, availableParallelism()) });
  return processPool;
}

/**
 * sealChunk on a worker thread: same id, key and ciphertext. Ownership: `plaintext` and `salt`
 * are COPIED (into the batch buffer, when the job is dispatched — possibly a turn or more after
 * the call), so the caller must not mutate them until the promise settles, and may reuse them
 * after. The returned ciphertext is a view of a buffer transferred back from the worker, owned by
 * the caller (it shares that buffer with the batch's other results; nobody writes to it again);
 * the key is a fresh 32-byte copy.
 */
export function sealChunkOffThread(plaintext: Buffer, salt: Buffer): Promise<SealedChunk> {
  return processSealPool().seal(plaintext, salt);
}

/**
 * openChunk on a worker thread: same plaintext, same errors (DedupError ChunkCorrupt when the tag
 * does not authenticate). Ownership as for sealChunkOffThread: `ciphertext` and `key` are copied
 * at dispatch; the returned plaintext is a view of a transferred buffer, owned by the caller.
 * A worker that dies with the job rejects it with BlobError SealWorkerFailed.
 */
export function openChunkOffThread(ciphertext: Buffer, key: Buffer): Promise<Buffer> {
  return processSealPool().open(ciphertext, key);
}

/**
 * The same four jobs with their results leased (see Leased): release each once nothing reads it,
 * and the batch buffer it shares with others is reused instead of reallocated.
 */
export function sealLeasedOffThread(plaintext: Buffer, salt: Buffer, format: SealFormat = 'chunk'): Promise<Leased<SealedChunk>> {
  return processSealPool().sealLeased(plaintext, salt, format);
}

export function openLeasedOffThread(ciphertext: Buffer, key: Buffer, format: SealFormat = 'chunk'): Promise<Leased<Buffer>> {
  return processSealPool().openLeased(ciphertext, key, format);
}

/** dedup's sealPagedBlock (volume blocks) on a worker thread; ownership as sealChunkOffThread. */
export function sealPagedBlockOffThread(plaintext: Buffer, salt: Buffer, format: PagedFormat): Promise<SealedChunk> {
  return processSealPool().seal(plaintext, salt, format);
}

/** dedup's openPagedBlock (every page authenticated) on a worker thread; ownership and errors as
 * openChunkOffThread. */
export function openPagedBlockOffThread(ciphertext: Buffer, key: Buffer, format: PagedFormat): Promise<Buffer> {
  return processSealPool().open(ciphertext, key, format);
}
