// One wasm environment: a QuickJS runtime+context in its own WebAssembly instance. Runs on
// whatever thread owns it (a worker in production, see worker-entry.ts). Implements the guest
// side of the driver contract in driver.ts; snapshot/restore follow WASM-SNAPSHOTS.md.
import { randomBytes } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { assert } from '../../../dedup/errors.js';
import { DriverError, type EnvironmentLimits, type FunctionError, type InvokeOutcome, type InvokeRequest, type LoadOutcome } from '../driver.js';
import { engineStackBytes, imagePageBytes, maximumPagesFor, memoryMbMax, memoryMbMin, wasmPageBytes } from '../limits.js';
import { capturePages, decodeWasmImageV1, encodeWasmImageV1, type WasmImageHeaderV1, type WasmImageV1 } from './image.js';
import type { InstancePool } from './instance-pool.js';
import { LogCapture } from './log-capture.js';
import { drivePromise, classifyLoadError, timeoutError, type PromiseDriver } from './engine-settle.js';
import { loadModuleCode, resolveEntry, validateCode, type LoadedModule } from './engine-load.js';
import { preludeFileName, preludeSource } from './prelude.js';
import {
  freeWrapperAllocations, handleAt, hostFunctionIdOf, pointersOf, reattachHostFunction,
  setStackPointer, stackPointerOf, wrapExisting, wrapperAllocationsOf, type BlankInstance, type QuickJsBuild,
} from './quickjs-internals.js';

export interface EngineDeps {
  build: QuickJsBuild;
  pool: InstancePool;
  // Wizer-style base image: the prelude already evaluated, no user code. Made by the first
  // create() on this thread; later creates restore it instead of parsing the prelude again.
  baseImage?: Uint8Array;
}

type EngineState = 'blank' | 'loaded' | 'broken' | 'destroyed';

export function validateLimits(limits: EnvironmentLimits): void {
  const { memoryMb } = limits;
  if (!Number.isInteger(memoryMb) || memoryMb < memoryMbMin || memoryMb > memoryMbMax) {
    throw new DriverError('LimitsInvalid', `memoryMb must be an integer in [${memoryMbMin}, ${memoryMbMax}], got ${memoryMb}`);
  }
}

export class WasmEngine implements PromiseDriver {
  private state: EngineState = 'blank';
  private busy = false;
  deadlineMs = Infinity;
  interrupted = false;
  readonly logs = new LogCapture();
  private module: LoadedModule = { kind: 'commonjs', sources: null, handler: '' };
  private constructor(
    private readonly deps: EngineDeps,
    private readonly instance: BlankInstance,
    readonly context: QuickJSContext,
    readonly control: QuickJSHandle,
    private readonly hostFunctionId: number,
    private memoryLimitBytes: number,
  ) {}

  static async create(deps: EngineDeps, limits: EnvironmentLimits): Promise<WasmEngine> {
    validateLimits(limits);
    if (deps.baseImage) return WasmEngine.restore(deps, deps.baseImage, limits, undefined);
    const engine = await WasmEngine.createFresh(deps, limits);
    deps.baseImage = engine.snapshot();
    return engine;
  }

  private static async createFresh(deps: EngineDeps, limits: EnvironmentLimits): Promise<WasmEngine> {
    const pooled = await deps.pool.take(1, maximumPagesFor(limits.memoryMb));
    const context = pooled.instance.quickjs.newContext();
    const memoryLimitBytes = limits.memoryMb * 1024 * 1024;
    context.runtime.setMaxStackSize(engineStackBytes);
    let engine: WasmEngine | undefined;
    const host = (op: QuickJSHandle, a: QuickJSHandle, b: QuickJSHandle) => engine!.hostCall(op, a, b);
    const hostHandle = context.newFunction('host', host);
    const hostFunctionId = hostFunctionIdOf(context, host, 0);
    const factory = context.unwrapResult(context.evalCode(preludeSource, preludeFileName, { type: 'global' }));
    const control = context.unwrapResult(context.callFunction(factory, context.undefined, hostHandle));
    factory.dispose();
    hostHandle.dispose();
    engine = new WasmEngine(deps, pooled.instance, context, control, hostFunctionId, memoryLimitBytes);
    engine.attachRuntimeHooks();
    context.runtime.setMemoryLimit(memoryLimitBytes); // after the prelude: it is the platform's, not the guest's
    engine.reseed(undefined);
    return engine;
  }

  static async restore(deps: EngineDeps, bytes: Uint8Array, limits: EnvironmentLimits | undefined, seed: Uint8Array | undefined): Promise<WasmEngine> {
    return WasmEngine.restoreDecoded(deps, decodeWasmImageV1(bytes, deps.build.buildHash), limits, seed);
  }

  /** Restores an image decoded earlier (workers keep images decoded between restores). Never mutates it. */
  static async restoreDecoded(deps: EngineDeps, image: WasmImageV1, limits: EnvironmentLimits | undefined, seed: Uint8Array | undefined): Promise<WasmEngine> {
    assert(image.header.buildHash === deps.build.buildHash, 'decoded image of this build');
    const header = image.header;
    if (limits) validateLimits(limits);
    const maximumPages = limits ? Math.max(maximumPagesFor(limits.memoryMb), header.memoryPages) : header.maximumPages;
    const pooled = await deps.pool.take(header.memoryPages, maximumPages);
    const memory = new Uint8Array(pooled.instance.memory.buffer);
    writePages(memory, pooled.dirtyPages, image.pageIndexes, image.pages);
    setStackPointer(pooled.instance, header.stackPointer);
    const context = wrapExisting(pooled.instance, header.runtimePointer, header.contextPointer);
    freeWrapperAllocations(pooled.instance, context, { values: header.staleValuePointers, blocks: header.staleBlockPointers });
    let engine: WasmEngine | undefined;
    const host = (op: QuickJSHandle, a: QuickJSHandle, b: QuickJSHandle) => engine!.hostCall(op, a, b);
    assert(header.hostFunctionIds.length === 1, 'image: one host function');
    reattachHostFunction(context, host, header.hostFunctionIds[0]);
    const control = handleAt(context, header.runtimePointer, header.controlPointer);
    const memoryLimitBytes = limits ? limits.memoryMb * 1024 * 1024 : header.memoryLimitBytes;
    engine = new WasmEngine(deps, pooled.instance, context, control, header.hostFunctionIds[0], memoryLimitBytes);
    engine.module = { kind: header.moduleKind, sources: header.moduleSources, handler: header.handler };
    engine.state = header.phase;
    engine.attachRuntimeHooks();
    if (limits) context.runtime.setMemoryLimit(memoryLimitBytes);
    engine.reseed(seed);
    return engine;
  }

  async load(files: Readonly<Record<string, string>>, handler: string, timeoutMs: number): Promise<LoadOutcome> {
    validateCode(files, handler);
    this.enter('blank');
    const startedMs = performance.now();
    this.logs.begin(undefined);
    try {
      const entry = resolveEntry(files, handler);
      if ('error' in entry) return this.failed(entry.error, startedMs, 'discard');
      this.deadlineMs = Date.now() + timeoutMs;
      this.interrupted = false;
      this.module = { kind: entry.kind, sources: entry.kind === 'module' ? { ...files } : null, handler };
      if (entry.kind === 'module') this.attachModuleLoader();
      const error = await loadModuleCode(this, files, entry, handler);
      if (this.interrupted) return this.failed(timeoutError(timeoutMs, 'init'), startedMs, 'discard');
      if (error) return this.failed(classifyLoadError(error), startedMs, 'discard');
      this.state = 'loaded';
      return { ok: true, logs: this.logs.text(), durationMs: performance.now() - startedMs, environment: 'reusable' };
    } catch (error) {
      this.state = 'broken';
      return this.failed(hostFailure(error), startedMs, 'discard');
    } finally {
      this.leave();
    }
  }

  async invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    this.enter('loaded');
    const startedMs = performance.now();
    const { context } = request;
    this.logs.begin(context.requestId);
    this.deadlineMs = Math.min(context.deadlineMs, Date.now() + request.timeoutMs);
    this.interrupted = false;
    try {
      const contextJson = JSON.stringify({ ...context, fields: { functionVersion: context.functionVersion ?? '$LATEST', invokedFunctionArn: context.invokedFunctionArn, logGroupName: context.logGroupName, logStreamName: context.logStreamName } });
      const settled = await this.callControlAsync('invoke', [request.eventJson, contextJson]);
      if (settled.kind === 'timeout') {
        this.context.unwrapResult(this.callControl('clearTimers', []));
        this.logs.line(`${new Date().toISOString()} ${context.requestId} Task timed out after ${(request.timeoutMs / 1000).toFixed(2)} seconds`);
        return this.failed(timeoutError(request.timeoutMs, context.requestId), startedMs, 'discard');
      }
      if (settled.kind === 'error') return this.failed(settled.error, startedMs, settled.error.errorType === 'Runtime.OutOfMemory' ? 'discard' : 'reusable');
      const answerText = this.context.getString(settled.handle);
      settled.handle.dispose();
      const answer = JSON.parse(answerText) as { ok: true; json: string } | { ok: false; error: FunctionError };
      if (!answer.ok) return this.failed(outOfMemoryAware(answer.error, this.memoryLimitBytes, context.requestId), startedMs, answer.error.errorMessage === 'out of memory' ? 'discard' : 'reusable');
      return { ok: true, resultJson: answer.json, logs: this.logs.text(), durationMs: performance.now() - startedMs, environment: 'reusable' };
    } catch (error) {
      this.state = 'broken';
      return this.failed(hostFailure(error), startedMs, 'discard');
    } finally {
      this.deadlineMs = Infinity;
      this.leave();
    }
  }

  snapshot(): Uint8Array {
    this.enter(this.state === 'blank' ? 'blank' : 'loaded');
    try {
      const { runtimePointer, contextPointer } = pointersOf(this.context);
      const stale = wrapperAllocationsOf(this.context);
      const memory = new Uint8Array(this.instance.memory.buffer);
      const { pageIndexes, pages } = capturePages(memory);
      const header: WasmImageHeaderV1 = {
        version: 1, buildHash: this.deps.build.buildHash, memoryPages: memory.byteLength / wasmPageBytes,
        maximumPages: this.instance.maximumPages, memoryLimitBytes: this.memoryLimitBytes,
        runtimePointer, contextPointer, stackPointer: stackPointerOf(this.instance),
        controlPointer: this.control.value as number, hostFunctionIds: [this.hostFunctionId],
        staleValuePointers: stale.values, staleBlockPointers: stale.blocks, interruptHandler: true,
        moduleKind: this.module.kind, moduleSources: this.module.sources, handler: this.module.handler,
        phase: this.state === 'blank' ? 'blank' : 'loaded',
      };
      return encodeWasmImageV1({ header, pageIndexes, pages });
    } finally {
      this.leave();
    }
  }

  resizeMemory(memoryMb: number): void {
    validateLimits({ memoryMb });
    if (this.state === 'destroyed') throw new DriverError('EnvironmentDestroyed', 'environment destroyed');
    if (maximumPagesFor(memoryMb) > this.instance.maximumPages) {
      throw new DriverError('ResizeNeedsRestore', `memoryMb ${memoryMb} exceeds this environment's hard cap; snapshot and restore with the new limits`);
    }
    this.memoryLimitBytes = memoryMb * 1024 * 1024;
    this.context.runtime.setMemoryLimit(this.memoryLimitBytes);
  }

  destroy(): void {
    if (this.state === 'destroyed') return;
    const broken = this.state === 'broken';
    this.state = 'destroyed';
    if (broken) return; // the heap may be inconsistent: drop the instance, let GC take the Memory
    try {
      this.control.dispose();
      this.context.dispose();
    } catch {
      // Disposal runs finalizers in the guest; a failure only leaks an instance we drop anyway.
    }
  }

  // ---- PromiseDriver: used by engine-settle.ts to call into the guest.
  callControl(method: string, args: (string | QuickJSHandle)[]): ReturnType<QuickJSContext['callFunction']> {
    const context = this.context;
    const fn = context.getProp(this.control, method);
    const handles = args.map((arg) => (typeof arg === 'string' ? context.newString(arg) : arg));
    try {
      return context.callFunction(fn, this.control, ...handles);
    } finally {
      fn.dispose();
      handles.forEach((handle, i) => { if (typeof args[i] === 'string') handle.dispose(); });
    }
  }

  callControlAsync(method: string, args: (string | QuickJSHandle)[]) {
    return drivePromise(this, () => this.callControl(method, args));
  }

  private hostCall(op: QuickJSHandle, a: QuickJSHandle, b: QuickJSHandle): QuickJSHandle | undefined {
    const context = this.context;
    const name = context.getString(op);
    if (name === 'log') {
      this.logs.entry(context.getString(a), context.getString(b));
      return undefined;
    }
    if (name === 'random') {
      const count = context.getNumber(a);
      assert(Number.isInteger(count) && count >= 0 && count <= 65536, 'random byte count checked in the guest');
      return context.newString(randomBytes(count).toString('hex'));
    }
    throw new Error(`unknown host operation ${name}`);
  }

  private attachRuntimeHooks(): void {
    // Re-attached after every restore: the C side of the image has it enabled (WASM-SNAPSHOTS.md).
    this.context.runtime.setInterruptHandler(() => {
      if (Date.now() <= this.deadlineMs) return false;
      this.interrupted = true;
      return true;
    });
    if (this.module.kind === 'module') this.attachModuleLoader();
  }

  private attachModuleLoader(): void {
    const sources = this.module.sources ?? {};
    this.context.runtime.setModuleLoader(
      (name) => {
        const source = sources[name];
        if (source === undefined) throw new Error(`Cannot find module '${name}'`);
        return source;
      },
      (base, request) => normalizeModuleName(base, request),
    );
  }

  private reseed(seed: Uint8Array | undefined): void {
    const bytes = seed && seed.byteLength >= 16 ? Buffer.from(seed.subarray(0, 16)) : randomBytes(16);
    this.context.unwrapResult(this.callControl('reseed', [bytes.toString('hex')])).dispose();
  }

  private enter(expected: EngineState): void {
    if (this.state === 'destroyed') throw new DriverError('EnvironmentDestroyed', 'environment destroyed');
    if (this.state === 'broken') throw new DriverError('EnvironmentBroken', 'environment saw a host failure; destroy it');
    if (this.busy) throw new DriverError('EnvironmentBusy', 'environment is running another call');
    if (this.state !== expected) {
      throw new DriverError(expected === 'blank' ? 'EnvironmentAlreadyLoaded' : 'EnvironmentNotLoaded', `environment is ${this.state}, expected ${expected}`);
    }
    this.busy = true;
  }

  private leave(): void {
    this.busy = false;
  }

  private failed(error: FunctionError, startedMs: number, environment: 'reusable' | 'discard') {
    return { ok: false as const, error, logs: this.logs.text(), durationMs: performance.now() - startedMs, environment };
  }
}

function writePages(memory: Uint8Array, dirtyPages: Uint32Array, pageIndexes: Uint32Array, pages: Uint8Array): void {
  // Zero what the glue dirtied and the image does not overwrite, then write the image's pages.
  let next = 0;
  for (const page of dirtyPages) {
    while (next < pageIndexes.length && pageIndexes[next] < page) next++;
    if (next < pageIndexes.length && pageIndexes[next] === page) continue;
    memory.fill(0, page * imagePageBytes, (page + 1) * imagePageBytes);
  }
  for (let i = 0; i < pageIndexes.length; i++) {
    memory.set(pages.subarray(i * imagePageBytes, (i + 1) * imagePageBytes), pageIndexes[i] * imagePageBytes);
  }
}

function normalizeModuleName(base: string, request: string): string {
  if (!request.startsWith('./') && !request.startsWith('../')) return request.replace(/^\/+/, '');
  const parts = base.split('/').slice(0, -1);
  for (const part of request.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  return parts.join('/');
}

function hostFailure(error: unknown): FunctionError {
  const message = error instanceof Error ? error.message : String(error);
  return { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${message}`, trace: [] };
}

function outOfMemoryAware(error: FunctionError, limitBytes: number, requestId: string): FunctionError {
  if (error.errorMessage !== 'out of memory') return error;
  return { errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: out of memory (limit ${limitBytes / 1024 / 1024} MB)`, trace: [] };
}
