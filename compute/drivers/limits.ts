// Named bounds for the compute drivers (STYLE.md §12). Relationships are asserted at load.
import { assert } from '../../dedup/errors.js';

export const memoryMbMin = 16;           // below this QuickJS cannot even hold the prelude
export const memoryMbMax = 2000;         // wasm32 glue caps the heap at 2 GiB, minus headroom
export const memoryHeadroomMb = 16;      // hard cap = memoryMb + headroom: allocator slack, stack, statics
export const timeoutMsMax = 900_000;     // Lambda's 15 minutes
export const timeoutMsMin = 1;
export const codeFilesMax = 10_000;
export const codeBytesMax = 256 * 1024 * 1024; // Lambda's unzipped deployment package limit
export const eventBytesMax = 6 * 1024 * 1024;  // Lambda's synchronous payload limit
export const resultBytesMax = 6 * 1024 * 1024;
export const logBytesMax = 1024 * 1024;  // captured console output per call; the rest is cut
export const engineStackBytes = 256 * 1024; // QuickJS stack limit: below V8's own wasm stack depth
export const imagePageBytes = 4096;      // image granularity (WASM-SNAPSHOTS.md: dedup at 4 KiB)
export const wasmPageBytes = 65536;
export const blankInitialPages = 256;    // 16 MiB: the glue's default initial heap
export const poolSizeDefault = 4;        // blank instances kept per worker per shape
export const poolSizeMax = 64;
export const refillIdleMs = 3;           // pool refills wait for this much quiet on their thread
export const workersDefault = 2;
export const workersMax = 64;
export const environmentsPerWorkerMax = 4000; // ~10 GiB virtual reservation each; 12k/process total
export const workerStackMb = 32;         // deep guest recursion hits QuickJS's limit first
export const imagesPerWorkerMax = 64;    // decoded images a worker keeps for later restores
export const terminateGraceMs = 250;     // worker.terminate() after deadline + grace if no answer

assert(memoryMbMin < memoryMbMax, 'memory bounds');
assert((memoryMbMax + memoryHeadroomMb) * 16 <= 32768, 'hard cap fits the glue maximum (2 GiB)');
assert(wasmPageBytes % imagePageBytes === 0, 'image pages tile wasm pages');
assert(resultBytesMax <= eventBytesMax * 2 && logBytesMax > 4096, 'payload bounds');
assert(poolSizeDefault <= poolSizeMax && workersDefault <= workersMax, 'pool bounds');

/** Hard cap of an environment's linear memory, in 64 KiB pages. */
export function maximumPagesFor(memoryMb: number): number {
  return Math.min(32768, Math.ceil(((memoryMb + memoryHeadroomMb) * 1024 * 1024) / wasmPageBytes));
}
