// The ONE module that touches quickjs-emscripten internals (WASM-SNAPSHOTS.md: "isolate them in
// one small module so an upgrade breaks in one place"). Everything here depends on the exact
// pinned versions quickjs-emscripten-core@0.32.0 + @jitl/quickjs-wasmfile-release-sync@0.32.0:
// the minified export names of the stack helpers, the protected fields of QuickJSWASMModule /
// QuickJSContext, and the deterministic id sequence of HostRefMap. Images carry the hash of the
// .wasm, so a different build is rejected before any of this runs against it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
  Lifetime,
  QuickJSRuntime,
  QuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import releaseSyncVariantImport from '@jitl/quickjs-wasmfile-release-sync';

// The package's typings describe its CommonJS face; the ESM default export is the variant itself.
const releaseSyncVariant = releaseSyncVariantImport as unknown as QuickJSSyncVariant;
import { assert } from '../../../dedup/errors.js';

export interface QuickJsBuild {
  readonly wasmModule: WebAssembly.Module;
  readonly buildHash: string; // sha256 of the exact .wasm bytes, hex
  // The emscripten glue's factory and the FFI class, imported once per thread.
  // newQuickJSWASMModuleFromVariant would import() three modules per instance, and under tsx
  // every import() is a round trip to the loader-hooks thread: most of a blank instance's cost
  // on a loaded machine.
  readonly glue: GlueFactory;
  readonly ffiClass: new (module: unknown) => unknown;
}

type GlueFactory = (moduleArg: Record<string, unknown>) => Promise<{ type?: string } & Record<string, unknown>>;

/** A wasm instance whose emscripten glue has run, with no QuickJS runtime in it yet. */
export interface BlankInstance {
  readonly memory: WebAssembly.Memory;
  readonly quickjs: QuickJSWASMModule;
  readonly exports: WebAssembly.Exports;
  readonly initialPages: number; // 64 KiB wasm pages
  readonly maximumPages: number;
}

/** Allocations held by JS wrapper objects; they live in the image and must be freed on restore. */
export interface WrapperAllocations {
  readonly values: number[]; // JSValue* boxes (freed with QTS_FreeValuePointer)
  readonly blocks: number[]; // raw malloc blocks (freed with free)
}

// Minified names of emscripten_stack_get_current / _emscripten_stack_restore in this build
// (see emscripten-module.mjs: `wa=b.La;ua=b.Ma;Y=b.Na;ta=b.Oa`).
const stackGetCurrentExport = 'Oa';
const stackRestoreExport = 'Ma';
// HostRefMap hands out ids from INT32_MIN upwards (host-ref.ts); re-registering in the same
// order on a fresh runtime reproduces the ids baked into the image.
const hostRefIdFirst = -2147483648;

export async function loadQuickJsBuild(): Promise<QuickJsBuild> {
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  const bytes = await readFile(wasmPath);
  const buildHash = createHash('sha256').update(bytes).digest('hex');
  const wasmModule = await WebAssembly.compile(bytes);
  const glue = await releaseSyncVariant.importModuleLoader() as unknown as GlueFactory;
  const ffiClass = await releaseSyncVariant.importFFI() as unknown as new (module: unknown) => unknown;
  assert(typeof glue === 'function' && typeof ffiClass === 'function', 'quickjs build: glue factory and FFI class');
  return { wasmModule, buildHash, glue, ffiClass };
}

export async function newBlankInstance(build: QuickJsBuild, initialPages: number, maximumPages: number): Promise<BlankInstance> {
  assert(initialPages > 0 && initialPages <= maximumPages, 'blank instance: page counts');
  // Pre-sized before the glue runs: growing from outside would detach the glue's heap views.
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages });
  let exports: WebAssembly.Exports | undefined;
  // What newVariant + newQuickJSWASMModuleFromVariant do, minus their per-call dynamic imports.
  const emscriptenModule = await build.glue({
    wasmMemory: memory,
    instantiateWasm: (imports: WebAssembly.Imports, onSuccess: (instance: WebAssembly.Instance) => void) => {
      const instance = new WebAssembly.Instance(build.wasmModule, imports);
      exports = instance.exports;
      onSuccess(instance);
      return instance.exports;
    },
  });
  emscriptenModule.type = 'sync';
  const quickjs = new QuickJSWASMModule(emscriptenModule as never, new build.ffiClass(emscriptenModule) as never);
  assert(exports !== undefined, 'blank instance: instantiateWasm was not used');
  assert(typeof exports[stackGetCurrentExport] === 'function', 'build lacks the stack helper exports');
  assert(typeof exports[stackRestoreExport] === 'function', 'build lacks the stack helper exports');
  return { memory, quickjs, exports, initialPages, maximumPages };
}

export function stackPointerOf(instance: BlankInstance): number {
  return (instance.exports[stackGetCurrentExport] as () => number)();
}

export function setStackPointer(instance: BlankInstance, stackPointer: number): void {
  (instance.exports[stackRestoreExport] as (sp: number) => void)(stackPointer);
  assert(stackPointerOf(instance) === stackPointer, 'stack pointer not restored');
}

interface ModuleInternals {
  module: unknown;
  ffi: { QTS_FreeValuePointer(ctx: number, ptr: number): void; QTS_FreeRuntime(rt: number): void };
  callbacks: { deleteRuntime(rt: number): void };
}

function internalsOf(instance: BlankInstance): ModuleInternals {
  return instance.quickjs as unknown as ModuleInternals;
}

/** Wraps a runtime and context that already live in the instance's memory (after restore). */
export function wrapExisting(instance: BlankInstance, runtimePointer: number, contextPointer: number): QuickJSContext {
  const internals = internalsOf(instance);
  const rt = new Lifetime(runtimePointer, undefined, (pointer: number) => {
    internals.ffi.QTS_FreeRuntime(pointer);
    internals.callbacks.deleteRuntime(pointer);
  });
  const runtime = new QuickJSRuntime({ module: internals.module, ffi: internals.ffi, rt, callbacks: internals.callbacks } as never);
  const context = runtime.newContext({ contextPointer: contextPointer as never, ownedLifetimes: [runtime] });
  runtime.context = context;
  return context;
}

export function pointersOf(context: QuickJSContext): { runtimePointer: number; contextPointer: number } {
  const fields = context as unknown as { rt: { value: number }; ctx: { value: number } };
  return { runtimePointer: fields.rt.value, contextPointer: fields.ctx.value };
}

/** The wrapper-owned allocations that would leak once the wrapper is gone (the image keeps them). */
export function wrapperAllocationsOf(context: QuickJSContext): WrapperAllocations {
  const fields = context as unknown as Record<string, { alive?: boolean; value: unknown } | undefined>;
  const values: number[] = [];
  for (const name of ['_global', '_BigInt', '_Symbol', '_SymbolIterator', '_SymbolAsyncIterator']) {
    const handle = fields[name];
    if (handle?.alive) values.push(handle.value as number);
  }
  const typed = fields['uint32Out'] as { value: { ptr: number } } | undefined;
  const blocks = typed ? [typed.value.ptr] : [];
  return { values, blocks };
}

export function freeWrapperAllocations(instance: BlankInstance, context: QuickJSContext, stale: WrapperAllocations): void {
  const { contextPointer } = pointersOf(context);
  const module = internalsOf(instance).module as { _free(ptr: number): void };
  for (const value of stale.values) internalsOf(instance).ffi.QTS_FreeValuePointer(contextPointer, value);
  for (const block of stale.blocks) module._free(block);
}

/** Re-boxes a JSValue* found in the image as a handle owned by the new wrapper. */
export function handleAt(context: QuickJSContext, runtimePointer: number, valuePointer: number): QuickJSHandle {
  const memory = (context as unknown as { getMemory(rt: number): { heapValueHandle(ptr: number): QuickJSHandle } }).getMemory(runtimePointer);
  return memory.heapValueHandle(valuePointer);
}

type HostRefs = { put(value: object): number; get(id: number): object };

function hostRefsOf(context: QuickJSContext): HostRefs {
  return (context.runtime as unknown as { hostRefs: HostRefs }).hostRefs;
}

/** The id a host function was registered under by context.newFunction (first one: INT32_MIN). */
export function hostFunctionIdOf(context: QuickJSContext, fn: object, ordinal: number): number {
  const id = hostRefIdFirst + ordinal;
  assert(hostRefsOf(context).get(id) === fn, `host function ${ordinal} is not under id ${id}`);
  return id;
}

/** On restore: puts the host function back under the id the image's function object holds. */
export function reattachHostFunction(context: QuickJSContext, fn: object, id: number): void {
  const placed = hostRefsOf(context).put(fn);
  assert(placed === id, `host function re-attached under ${placed}, image expects ${id}`);
}
