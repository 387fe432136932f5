// Blank instances made ahead of time (WASM-SNAPSHOTS.md: "instance creation is most of the restore
// time and all of its tail"). A blank instance has run the emscripten glue and nothing else. Each
// remembers which 4 KiB pages the glue dirtied, so a restore zeroes exactly those it does not
// overwrite. Instances are never returned to the pool: a used instance holds guest data.
import { assert } from '../../../dedup/errors.js';
import { blankInitialPages, poolSizeMax, refillIdleMs } from '../limits.js';
import { capturePages } from './image.js';
import { newBlankInstance, type BlankInstance, type QuickJsBuild } from './quickjs-internals.js';

export interface PooledInstance {
  readonly instance: BlankInstance;
  readonly dirtyPages: Uint32Array; // non-zero 4 KiB pages right after the glue ran
}

export class InstancePool {
  private readonly idle = new Map<number, PooledInstance[]>(); // by maximumPages
  private readonly targets = new Map<number, number>();
  // The glue dirties the same pages in every fresh instance of one build and size (data
  // segments, bss, constructors' allocations): scanning 16+ MiB once per size, not per instance.
  private readonly dirtyBySize = new Map<number, Uint32Array>();
  private refilling = false;
  private closed = false;
  private lastTakeMs = 0;

  constructor(private readonly build: QuickJsBuild, private readonly sizePerShape: number) {
    assert(sizePerShape >= 0 && sizePerShape <= poolSizeMax, 'pool size in bounds');
  }

  /** An instance with at least `initialPages` of memory and exactly `maximumPages` as hard cap. */
  async take(initialPages: number, maximumPages: number): Promise<PooledInstance> {
    assert(initialPages <= maximumPages, 'pool: initial pages above the hard cap');
    if (!this.targets.has(maximumPages)) this.targets.set(maximumPages, this.sizePerShape);
    const list = this.idle.get(maximumPages) ?? [];
    const index = list.findIndex((pooled) => pooled.instance.initialPages >= initialPages);
    const pooled = index >= 0 ? list.splice(index, 1)[0] : await this.make(Math.max(initialPages, blankInitialPages), maximumPages);
    this.lastTakeMs = performance.now();
    this.refillSoon();
    assert(pooled.instance.memory.buffer.byteLength >= initialPages * 65536, 'pool: instance too small');
    return pooled;
  }

  /** Fills the pool for one shape up to `count` (pre-warming, seed 16). */
  async warm(maximumPages: number, count: number): Promise<void> {
    assert(count >= 0 && count <= poolSizeMax, 'warm count in bounds');
    this.targets.set(maximumPages, Math.max(this.targets.get(maximumPages) ?? 0, count));
    const list = this.idle.get(maximumPages) ?? [];
    this.idle.set(maximumPages, list);
    while (list.length < count && !this.closed) list.push(await this.make(blankInitialPages, maximumPages));
  }

  idleCount(): number {
    let total = 0;
    for (const list of this.idle.values()) total += list.length;
    return total;
  }

  close(): void {
    this.closed = true;
    this.idle.clear();
  }

  private async make(initialPages: number, maximumPages: number): Promise<PooledInstance> {
    const instance = await newBlankInstance(this.build, initialPages, maximumPages);
    let dirtyPages = this.dirtyBySize.get(initialPages);
    if (!dirtyPages) {
      dirtyPages = capturePages(new Uint8Array(instance.memory.buffer)).pageIndexes;
      this.dirtyBySize.set(initialPages, dirtyPages);
    }
    return { instance, dirtyPages };
  }

  // Refill one instance at a time, and only once the thread has seen no take() for
  // refillIdleMs: a refill blocks the thread for a whole instantiation, which must not land in
  // front of the next restore of a burst.
  private refillSoon(): void {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    setTimeout(() => void this.refillOne(), refillIdleMs);
  }

  private async refillOne(): Promise<void> {
    const idleMs = performance.now() - this.lastTakeMs;
    if (idleMs < refillIdleMs) {
      setTimeout(() => void this.refillOne(), refillIdleMs - idleMs);
      return;
    }
    for (const [maximumPages, target] of this.targets) {
      const list = this.idle.get(maximumPages) ?? [];
      this.idle.set(maximumPages, list);
      if (list.length < target && !this.closed) {
        list.push(await this.make(blankInitialPages, maximumPages));
        this.refilling = false;
        this.refillSoon();
        return;
      }
    }
    this.refilling = false;
  }
}
