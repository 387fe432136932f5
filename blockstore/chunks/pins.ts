// In-memory pins: chunks a writer has put but not yet committed, which GC must not collect.
// Counted, not a set: two writers racing on one chunk each hold a pin, so one writer's commit or
// abort cannot expose the other's chunk to GC. The cost of a writer that puts one chunk twice but
// commits it once is a leaked pin — that chunk escapes GC until restart — which is the safe
// direction. Pins are not persisted: after a crash no writer is in progress.
import { assert } from '../../dedup/errors.js';
import type { ChunkId } from './chunk-id.js';

export class Pins {
  private readonly counts = new Map<ChunkId, number>();

  pin(id: ChunkId): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Releases one pin; releasing an unpinned id is a no-op (an abort after a failed put). */
  release(id: ChunkId): void {
    const count = this.counts.get(id);
    if (count === undefined) return;
    assert(count > 0, 'pin counts stay positive');
    if (count === 1) this.counts.delete(id);
    else this.counts.set(id, count - 1);
  }

  has(id: ChunkId): boolean {
    return this.counts.has(id);
  }

  get size(): number {
    return this.counts.size;
  }
}
