// The KV index seam (STYLE.md §4). One MetaStore per node holds every index: chunk locations and
// reference counts, object and volume metadata. Sharing one store is what lets the chunk store
// commit new reference counts and the caller's own metadata in ONE atomic batch.
//
// Key namespaces (prefix convention; each owner documents its layout in its README):
//   'c/'  blockstore/chunks: one entry per chunk id (location + reference count)
//   'cs/' blockstore/chunks: store-wide state (segment tail marker)
//   'o/'  objects (gateway/blobs)     'v/'  volumes     'f/'  functions
// A prefix is owned by exactly one layer; no layer writes another's prefix except through
// ChunkStore.commit's metaOps, which carries the caller's own keys.
import { assert } from '../../dedup/errors.js';
import { metaLimits } from './limits.js';

export type MetaOp = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

export interface MetaRange {
  gte?: string;
  gt?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  /** Maximum entries to yield; absent means the whole range (never 0 for "unlimited"). */
  limit?: number;
}

/**
 * Ordered string-keyed store of byte values.
 *
 * Ordering: keys compare as their UTF-8 bytes (LevelDB's bytewise comparator); MemoryMetaStore
 * reproduces this order, which differs from JS `<` for astral characters.
 *
 * Atomicity: `batch` applies all of its ops or none, in array order (a later op on the same key
 * wins). Concurrent batches are linearised in some order; each is atomic.
 *
 * Durability: when `batch` resolves, its ops survive a kill -9 or power loss (LevelDB write with
 * sync). Concurrent batches may share one sync (group commit); none resolves before its sync.
 * If `batch` rejects, the store may be unusable (disk error): the owner closes and reopens it.
 *
 * Reads: `get` and `iterate` see every batch that has resolved. An iteration observes one
 * consistent snapshot, taken when iteration begins (first `next()`); later batches are not seen.
 *
 * Buffer ownership: values passed to `batch` are read before it resolves and never retained, so
 * the caller may reuse them once it settles (not before). Buffers returned by `get` and
 * `iterate` are fresh and owned by the caller; mutating them never changes the store.
 */
export interface MetaStore {
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Values of `keys` in order (undefined where absent), all read at one point in time. The chunk
   * store looks up a whole group of chunks this way: one LevelDB call costs ~4 µs of CPU per key
   * against ~20–40 µs for a get each (measured on a 20k-key LevelDB, 64–256 keys a call).
   */
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>;
  batch(ops: readonly MetaOp[]): Promise<void>;
  /**
   * One `batch` whose ops arrive in slices: `slices` is pulled one slice at a time (each checked
   * like a batch; ≤ batchOpsMax ops in all) into a single atomic, durable write, so a huge batch
   * never lives as JS objects all at once (a 5 GiB object's 82k count updates: ~0.5 KB of heap
   * each as op objects, ~0.1 KB in LevelDB's native batch). If `slices` throws, nothing is
   * written and batchFrom rejects with that error. Other batches wait while it is pulled.
   */
  batchFrom(slices: AsyncIterable<readonly MetaOp[]>): Promise<void>;
  iterate(range: MetaRange): AsyncIterable<[string, Buffer]>;
  /** Waits for in-flight batches, then releases files. Calls after close reject. */
  close(): Promise<void>;
}

/** Precondition checks shared by every implementation, so both fail the same way. */
export function assertValidKey(key: string): void {
  assert(typeof key === 'string' && key.length > 0, 'meta key must be a non-empty string');
  assert(Buffer.byteLength(key, 'utf8') <= metaLimits.keyBytesMax, `meta key longer than ${metaLimits.keyBytesMax} bytes`);
}

export function assertValidKeys(keys: readonly string[]): void {
  assert(Array.isArray(keys), 'getMany keys must be an array');
  assert(keys.length <= metaLimits.batchOpsMax, `getMany of more than ${metaLimits.batchOpsMax} keys`);
  for (const key of keys) assertValidKey(key);
}

/** batchFrom's slices, each checked as a batch and all together held to batchOpsMax. */
export async function* validSlices(slices: AsyncIterable<readonly MetaOp[]>): AsyncIterable<readonly MetaOp[]> {
  let count = 0;
  for await (const slice of slices) {
    assertValidBatch(slice);
    count += slice.length;
    assert(count <= metaLimits.batchOpsMax, `batch has more than ${metaLimits.batchOpsMax} ops`);
    yield slice;
  }
}

export function assertValidBatch(ops: readonly MetaOp[]): void {
  assert(Array.isArray(ops), 'batch ops must be an array');
  assert(ops.length <= metaLimits.batchOpsMax, `batch has more than ${metaLimits.batchOpsMax} ops`);
  for (const op of ops) {
    assertValidKey(op.key);
    if (op.type === 'put') {
      assert(Buffer.isBuffer(op.value), `put value for ${op.key} must be a Buffer`);
      assert(op.value.length <= metaLimits.valueBytesMax, `value for ${op.key} exceeds valueBytesMax`);
    } else {
      assert(op.type === 'del', `unknown meta op type ${(op as { type: unknown }).type}`);
    }
  }
}

export function assertValidRange(range: MetaRange): void {
  assert(!(range.gt !== undefined && range.gte !== undefined), 'range has both gt and gte');
  assert(!(range.lt !== undefined && range.lte !== undefined), 'range has both lt and lte');
  if (range.limit !== undefined) {
    assert(Number.isSafeInteger(range.limit) && range.limit > 0, 'range limit must be a positive integer');
  }
}

/**
 * Compares two keys in UTF-8 byte order without encoding them. UTF-16 code units order the same
 * as code points except that surrogates (0xD800–0xDFFF, astral characters) must sort above
 * 0xE000–0xFFFF; shifting both ranges fixes that.
 */
export function compareKeys(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    let a = left.charCodeAt(index);
    let b = right.charCodeAt(index);
    if (a === b) continue;
    if (a >= 0xd800 && b >= 0xd800) {
      a = a >= 0xe000 ? a - 0x800 : a + 0x2000;
      b = b >= 0xe000 ? b - 0x800 : b + 0x2000;
    }
    return a - b;
  }
  return left.length - right.length;
}

/** Whether `key` lies inside `range`'s bounds (limit and direction are the caller's). */
export function keyInRange(key: string, range: MetaRange): boolean {
  if (range.gte !== undefined && compareKeys(key, range.gte) < 0) return false;
  if (range.gt !== undefined && compareKeys(key, range.gt) <= 0) return false;
  if (range.lte !== undefined && compareKeys(key, range.lte) > 0) return false;
  if (range.lt !== undefined && compareKeys(key, range.lt) >= 0) return false;
  return true;
}
