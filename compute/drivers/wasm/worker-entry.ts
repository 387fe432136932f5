// Worker thread entry: hosts many wasm environments and answers WorkerRequests. A busy or looping
// guest blocks only this thread; the main thread keeps serving S3/NBD and can terminate() us.
import { parentPort, workerData } from 'node:worker_threads';
import { assert, AssertionError, isCairnError } from '../../../dedup/errors.js';
import { DriverError } from '../driver.js';
import { environmentsPerWorkerMax, maximumPagesFor } from '../limits.js';
import { WasmEngine, validateLimits, type EngineDeps } from './engine.js';
import { decodeWasmImageV1, type WasmImageV1 } from './image.js';
import { InstancePool } from './instance-pool.js';
import { loadQuickJsBuild } from './quickjs-internals.js';
import type { ImageReference, WorkerEnvelope, WorkerOptions, WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort;
assert(port !== null, 'worker-entry runs in a worker thread');
const options = workerData as WorkerOptions;
const build = await loadQuickJsBuild();
const deps: EngineDeps = { build, pool: new InstancePool(build, options.poolSize) };
const engines = new Map<string, WasmEngine>();
const images = new Map<number, WasmImageV1>(); // decoded once; bounded by the host (imageReference)

function imageOf(reference: ImageReference): WasmImageV1 {
  for (const key of reference.forget ?? []) images.delete(key);
  if (reference.bytes) images.set(reference.key, decodeWasmImageV1(reference.bytes, build.buildHash));
  const image = images.get(reference.key);
  assert(image !== undefined, `image ${reference.key} was never sent to this worker`);
  return image;
}

function engineOf(environmentId: string): WasmEngine {
  const engine = engines.get(environmentId);
  if (!engine) throw new DriverError('EnvironmentDestroyed', `environment ${environmentId} is not on this worker`);
  return engine;
}

function checkRoom(): void {
  if (engines.size >= environmentsPerWorkerMax) throw new DriverError('LimitsInvalid', `worker holds ${environmentsPerWorkerMax} environments already`);
}

function admit(environmentId: string, engine: WasmEngine): null {
  assert(!engines.has(environmentId), 'environment ids are unique');
  engines.set(environmentId, engine);
  return null;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'create':
      checkRoom();
      return admit(request.environmentId, await WasmEngine.create(deps, request.limits));
    case 'restore': {
      const image = imageOf(request.image); // first: the host counts it as sent even if this restore fails
      checkRoom();
      return admit(request.environmentId, await WasmEngine.restoreDecoded(deps, image, request.limits, request.seed));
    }
    case 'load': return engineOf(request.environmentId).load(request.files, request.handler, request.timeoutMs);
    case 'invoke': return engineOf(request.environmentId).invoke(request.request);
    case 'snapshot': return engineOf(request.environmentId).snapshot();
    case 'resize': engineOf(request.environmentId).resizeMemory(request.memoryMb); return null;
    case 'destroy':
      engines.get(request.environmentId)?.destroy();
      engines.delete(request.environmentId);
      return null;
    case 'warm':
      validateLimits(request.limits);
      await deps.pool.warm(maximumPagesFor(request.limits.memoryMb), request.count);
      return null;
    case 'stats':
      return { environments: engines.size, pooledInstances: deps.pool.idleCount(), heapUsedBytes: process.memoryUsage().heapUsed };
  }
}

function errorReply(id: number, error: unknown): WorkerReply {
  if (isCairnError(error)) return { id, ok: false, error: { name: 'DriverError', code: error.code, message: error.message } };
  const name = error instanceof AssertionError ? 'AssertionError' : 'Error';
  return { id, ok: false, error: { name, message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) } };
}

// Replies finished in one turn of this thread's loop go back as one message (see WorkerHost.flush).
let outbox: WorkerReply[] = [];
let transfers: ArrayBuffer[] = [];

function send(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  outbox.push(reply);
  transfers.push(...transfer);
  if (outbox.length === 1) setImmediate(flush);
}

function flush(): void {
  const batch = outbox;
  const transfer = transfers;
  outbox = [];
  transfers = [];
  port!.postMessage(batch, transfer);
}

port.on('message', (batch: WorkerEnvelope[]) => {
  assert(Array.isArray(batch), 'the host sends batches');
  for (const envelope of batch) {
    handle(envelope).then(
      (value) => send({ id: envelope.id, ok: true, value }, value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : []),
      (error: unknown) => send(errorReply(envelope.id, error)),
    );
  }
});
send({ id: 0, ok: true, value: build.buildHash });
