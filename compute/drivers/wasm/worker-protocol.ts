// Messages between the driver (main thread) and a worker hosting environments. Plain data only:
// everything crosses by structured clone; snapshot bytes are transferred, not copied.
import type { EnvironmentLimits, InvokeOutcome, InvokeRequest, LoadOutcome } from '../driver.js';

export type WorkerRequest =
  | { op: 'create'; environmentId: string; limits: EnvironmentLimits }
  | { op: 'restore'; environmentId: string; image: ImageReference; limits?: EnvironmentLimits; seed?: Uint8Array }
  | { op: 'load'; environmentId: string; files: Record<string, string>; handler: string; timeoutMs: number }
  | { op: 'invoke'; environmentId: string; request: InvokeRequest }
  | { op: 'snapshot'; environmentId: string }
  | { op: 'resize'; environmentId: string; memoryMb: number }
  | { op: 'destroy'; environmentId: string }
  | { op: 'warm'; limits: EnvironmentLimits; count: number }
  | { op: 'stats' };

/**
 * An image a worker keeps decoded between restores. The host sends the bytes with the first
 * restore of an image on that worker only (a 0.3–3 MB structured clone per restore otherwise), and
 * names the images the worker may drop (`forget`) as it evicts them from its own account.
 */
export interface ImageReference {
  key: number;
  bytes?: Uint8Array;
  forget?: number[];
}

export interface WorkerStats {
  environments: number;
  pooledInstances: number;
  heapUsedBytes: number;
}

export interface WorkerReplies {
  create: null;
  restore: null;
  load: LoadOutcome;
  invoke: InvokeOutcome;
  snapshot: Uint8Array;
  resize: null;
  destroy: null;
  warm: null;
  stats: WorkerStats;
}

export type WorkerEnvelope = { id: number } & WorkerRequest;

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; code?: string; message: string } };

export interface WorkerOptions {
  poolSize: number;
}
