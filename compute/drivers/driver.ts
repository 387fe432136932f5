// The microVM driver interface (ARCHITECTURE.md "microVMs"; STYLE.md §4). One contract for the
// embedded `wasm` driver (QuickJS in WebAssembly) and the later `vm` driver (QEMU microvm + guest
// agent), proven by driver-conformance.ts.
//
// Lifecycle:  create(limits) → load(code) [parses the code and runs its top level: "init"]
//             → snapshot() → image … restore(image) → invoke(request)* → destroy()
//
// Contract (what every driver promises):
// - Isolation: guest code reaches no host file, socket, process or environment variable. Its only
//   ways out are its captured console output and its invoke result.
// - One invocation at a time per environment (Lambda's model). A second concurrent call is an
//   operating error ('EnvironmentBusy'), never queued silently.
// - Guest failures are data, not exceptions: load() and invoke() resolve with {ok:false, error}
//   in Lambda's shape {errorType, errorMessage, trace}. They reject only for operating errors of
//   the driver itself (DriverError) or broken invariants (AssertionError).
// - Snapshot: taken only when the environment is idle (no invocation running). It captures the
//   whole guest: top-level globals, module caches, closures, pending microtasks and the guest's
//   timer table (due times are wall-clock, so a timer pending at snapshot fires during the first
//   invocation after restore once due). It does NOT capture host-side resources: the driver
//   re-attaches console, randomness, timers' host pump and module loading on restore, and
//   re-seeds Math.random / crypto so two restores of one image draw different numbers. Anything
//   the guest computed at init (a timestamp, a random id) is frozen into the image.
// - Images are immutable values owned by the caller. snapshot() returns a fresh buffer the driver
//   keeps no reference to; restore() never mutates the image it is given. An image is bound to
//   the driver build (buildHash); importImage/restore reject another build ('ImageIncompatible').
// - Durability is the caller's job: the driver keeps nothing across process restarts. Store the
//   exported bytes (e.g. as chunks in the blockstore) and restore from them.
// - Restores are independent: each restored environment is its own machine.
// - Limits: memoryMb is the guest's memory (the engine's allocation limit for wasm, the VM's RAM
//   for QEMU). Exceeding it fails the invocation ('Runtime.OutOfMemory') and the environment
//   should be discarded. The timeout interrupts the guest and answers Lambda's "Task timed out".
import { CairnError } from '../../dedup/errors.js';

export type DriverKind = 'wasm' | 'vm';
export type EnvironmentId = string & { readonly brand: 'EnvironmentId' };

export type DriverErrorCode =
  | 'ImageIncompatible'    // image from another driver build or format version
  | 'ImageCorrupt'         // bytes do not decode as an image
  | 'EnvironmentBusy'      // an invocation or snapshot is already running
  | 'EnvironmentNotLoaded' // invoke/snapshot before a successful load
  | 'EnvironmentAlreadyLoaded'
  | 'EnvironmentDestroyed' // used after destroy(), or its host (worker) was killed
  | 'EnvironmentBroken'    // a host exception crossed the guest; only destroy() remains
  | 'LimitsInvalid'        // limits out of range (see limits.ts)
  | 'ResizeNeedsRestore'   // memory above the environment's hard cap: snapshot, restore with new limits
  | 'CodeInvalid';         // files/handler malformed (size, count, names)

export class DriverError extends CairnError<DriverErrorCode> {}

export interface EnvironmentLimits {
  memoryMb: number; // Lambda MemorySize
}

/** A function's code: Lambda's unpacked zip (path → UTF-8 source) and handler "file.export". */
export interface FunctionCode {
  files: Readonly<Record<string, string>>;
  handler: string; // e.g. "index.handler" or "src/app.main"
}

/** Lambda's function error shape (the Invoke response body when X-Amz-Function-Error is set). */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** Whether the caller may keep using the environment after this call. */
export type EnvironmentHealth = 'reusable' | 'discard';

export type Outcome<Success> =
  | ({ ok: true } & Success & OutcomeCommon)
  | { ok: false; error: FunctionError } & OutcomeCommon;

export interface OutcomeCommon {
  logs: string;          // captured console output, Lambda's line format, capped (limits.ts)
  durationMs: number;
  environment: EnvironmentHealth;
}

export type LoadOutcome = Outcome<Record<never, never>>;
export type InvokeOutcome = Outcome<{ resultJson: string }>;

export interface InvokeContext {
  requestId: string;
  functionName: string;
  memoryLimitInMB: number;
  deadlineMs: number; // wall clock (ms since epoch) when the invocation's time is up
  functionVersion?: string;
  invokedFunctionArn?: string;
  logGroupName?: string;
  logStreamName?: string;
}

export interface InvokeRequest {
  eventJson: string; // the payload, already validated as JSON by the caller
  context: InvokeContext;
  timeoutMs: number;
}

/** A snapshot: opaque bytes plus what a caller needs to route and store it. */
export interface SnapshotImage {
  readonly driver: DriverKind;
  readonly buildHash: string; // hex hash of the exact engine build the image belongs to
  readonly bytes: Uint8Array; // the persisted format (wasm: WasmImageV1), owned by the caller
}

export interface RestoreOptions {
  limits?: EnvironmentLimits; // override the image's limits (e.g. after UpdateFunctionConfiguration)
  seed?: Uint8Array;          // 16+ bytes re-seeding guest randomness; default: fresh from the host
}

export interface Environment {
  readonly id: EnvironmentId;
  /** Loads code and runs its top level (init). Once per environment. */
  load(code: FunctionCode, options: { timeoutMs: number }): Promise<LoadOutcome>;
  /** Idle-only. Returns a new image; the environment keeps running unchanged. */
  snapshot(): Promise<SnapshotImage>;
  invoke(request: InvokeRequest): Promise<InvokeOutcome>;
  /** Changes the memory limit in place; rejects with 'ResizeNeedsRestore' above the hard cap. */
  resizeMemory(memoryMb: number): Promise<void>;
  /** Releases everything; idempotent. */
  destroy(): Promise<void>;
}

export interface MicroVmDriver {
  readonly kind: DriverKind;
  readonly buildHash: string;
  create(limits: EnvironmentLimits): Promise<Environment>;
  restore(image: SnapshotImage, options?: RestoreOptions): Promise<Environment>;
  /** Prepares blank machines in idle time so later create/restore skip instantiation. */
  warm(limits: EnvironmentLimits, count: number): Promise<void>;
  /** The persisted bytes of an image (for the blockstore or a migration stream). */
  exportImage(image: SnapshotImage): Uint8Array;
  /** Validates bytes as an image of this driver build; rejects 'ImageIncompatible'/'ImageCorrupt'. */
  importImage(bytes: Uint8Array): SnapshotImage;
  /** Destroys every environment and stops the driver's threads. */
  close(): Promise<void>;
}
