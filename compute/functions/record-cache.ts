// Decoded function records (head, versions, aliases) kept in memory for the invoke path. Every
// Invoke used to read and JSON-decode the head twice from LevelDB, each read a round trip through
// libuv's thread pool: on a loaded machine that was ~17% of the main thread per call.
//
// Coherence: every change to a function's records runs inside FunctionRegistry.serialise, which
// calls invalidate() before and after the change. A read that raced any change (the generation
// moved, or a change to its function is in flight) answers but does not fill the cache; changes are
// rare control-plane calls, so one generation for all functions costs little. Cached records are deep-frozen:
// callers that mutate records (the change paths) must read through the uncached methods.
import { assert } from '../../dedup/errors.js';
import { recordCacheFunctionsMax } from '../limits.js';

export class RecordCache {
  private readonly entries = new Map<string, Map<string, unknown>>(); // function → meta key → record | null
  private generation = 0;

  constructor(private readonly changing: (functionKey: string) => boolean) {}

  /** The record under `key` of function `functionKey`, loaded (and maybe cached) on a miss. */
  async read<T>(functionKey: string, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const cached = this.entries.get(functionKey);
    if (cached?.has(key)) return (cached.get(key) ?? undefined) as T | undefined;
    const generation = this.generation;
    const value = await load();
    if (this.changing(functionKey) || this.generation !== generation) return value;
    let records = this.entries.get(functionKey);
    if (!records) {
      if (this.entries.size >= recordCacheFunctionsMax) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(functionKey, (records = new Map()));
    }
    records.set(key, value === undefined ? null : deepFreeze(value));
    assert(this.entries.size <= recordCacheFunctionsMax, 'record cache bounded');
    return value;
  }

  invalidate(functionKey: string): void {
    this.entries.delete(functionKey);
    this.generation++;
  }
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const field of Object.values(value as Record<string, unknown>)) deepFreeze(field);
  return Object.freeze(value);
}
