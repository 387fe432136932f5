// MetaStore in memory, for unit tests of upper layers. Same contract as LevelMetaStore except
// that "durable" means "until the process exits". Values are copied in and out so that buffer
// ownership behaves exactly as documented in meta-store.ts.
import { assert } from '../../dedup/errors.js';
import {
  assertValidBatch, assertValidKey, assertValidKeys, assertValidRange, compareKeys, keyInRange, validSlices,
  type MetaOp, type MetaRange, type MetaStore,
} from './meta-store.js';

export class MemoryMetaStore implements MetaStore {
  private readonly values = new Map<string, Buffer>();
  /** Keys sorted by compareKeys; kept beside the map so ranges cost O(log n + k). */
  private readonly keysSorted: string[] = [];
  private closed = false;

  async get(key: string): Promise<Buffer | undefined> {
    this.assertOpen();
    assertValidKey(key);
    const value = this.values.get(key);
    return value === undefined ? undefined : Buffer.from(value);
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.assertOpen();
    assertValidKeys(keys);
    return keys.map((key) => {
      const value = this.values.get(key);
      return value === undefined ? undefined : Buffer.from(value);
    });
  }

  async batch(ops: readonly MetaOp[]): Promise<void> {
    this.assertOpen();
    assertValidBatch(ops);
    // Copy before applying anything: validation above already passed, so this cannot half-apply.
    for (const op of ops) {
      if (op.type === 'put') this.put(op.key, Buffer.from(op.value));
      else this.del(op.key);
    }
  }

  async batchFrom(slices: AsyncIterable<readonly MetaOp[]>): Promise<void> {
    this.assertOpen();
    const ops: MetaOp[] = [];
    for await (const slice of validSlices(slices)) for (const op of slice) ops.push(op);
    return this.batch(ops);
  }

  async *iterate(range: MetaRange): AsyncIterable<[string, Buffer]> {
    this.assertOpen();
    assertValidRange(range);
    const snapshot = this.collect(range);
    for (const entry of snapshot) yield entry;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private collect(range: MetaRange): Array<[string, Buffer]> {
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    const result: Array<[string, Buffer]> = [];
    const lower = range.gte ?? range.gt;
    const upper = range.lte ?? range.lt;
    if (range.reverse) {
      let index = upper === undefined ? this.keysSorted.length - 1 : this.lowerBound(upper);
      if (index >= this.keysSorted.length) index = this.keysSorted.length - 1;
      for (; index >= 0 && result.length < limit; index--) {
        const key = this.keysSorted[index];
        if (lower !== undefined && compareKeys(key, lower) < 0) break;
        if (keyInRange(key, range)) result.push([key, Buffer.from(this.values.get(key)!)]);
      }
    } else {
      let index = lower === undefined ? 0 : this.lowerBound(lower);
      for (; index < this.keysSorted.length && result.length < limit; index++) {
        const key = this.keysSorted[index];
        if (upper !== undefined && compareKeys(key, upper) > 0) break;
        if (keyInRange(key, range)) result.push([key, Buffer.from(this.values.get(key)!)]);
      }
    }
    return result;
  }

  /** First index whose key is ≥ `key`. */
  private lowerBound(key: string): number {
    let low = 0;
    let high = this.keysSorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.keysSorted[middle], key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private put(key: string, value: Buffer): void {
    if (!this.values.has(key)) {
      const index = this.lowerBound(key);
      this.keysSorted.splice(index, 0, key);
    }
    this.values.set(key, value);
  }

  private del(key: string): void {
    if (!this.values.delete(key)) return;
    const index = this.lowerBound(key);
    assert(this.keysSorted[index] === key, 'sorted key index out of step with the map');
    this.keysSorted.splice(index, 1);
  }

  private assertOpen(): void {
    assert(!this.closed, 'MemoryMetaStore used after close');
  }
}
