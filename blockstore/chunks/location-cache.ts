// Where recently written or read chunks lie, so get() can skip the index lookup (~4–40 µs of
// main-thread CPU each, blockstore/meta README) for data read soon after it was written or read.
// Bounded, evicting the oldest insertion (no reordering on a hit: a Map delete + set per hit costs
// more than the rare miss it would save).
//
// Safety: only GC moves or deletes an index entry once it exists (counts change, locations do
// not), and it calls forget() after each such batch resolves. A lookup that raced that batch may
// have read the old entry: remember() drops any answer whose lookup began before the latest
// forget (the epoch). And get() re-reads the index whenever a cached location fails to verify.
import type { ChunkId } from './chunk-id.js';

export interface ChunkLocation {
  readonly segmentNumber: number;
  readonly offset: number;
  readonly ciphertextBytes: number;
}

export class LocationCache {
  private readonly locations = new Map<ChunkId, ChunkLocation>();
  private forgets = 0;

  constructor(private readonly entriesMax: number) {}

  /** Pass to remember() for a location read from the index after this call. */
  get epoch(): number {
    return this.forgets;
  }

  get size(): number {
    return this.locations.size;
  }

  get(id: ChunkId): ChunkLocation | undefined {
    return this.locations.get(id);
  }

  remember(id: ChunkId, location: ChunkLocation, epochAtLookup: number): void {
    if (epochAtLookup !== this.forgets) return;
    if (!this.locations.has(id) && this.locations.size >= this.entriesMax) {
      this.locations.delete(this.locations.keys().next().value as ChunkId);
    }
    this.locations.set(id, { segmentNumber: location.segmentNumber, offset: location.offset, ciphertextBytes: location.ciphertextBytes });
  }

  forget(ids: Iterable<ChunkId>): void {
    this.forgets++;
    for (const id of ids) this.locations.delete(id);
  }
}
