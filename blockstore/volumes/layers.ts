// Layer bookkeeping: the generation-tagged block map behind instant snapshots and clones.
// A snapshot freezes the volume's head layer and gives the volume a fresh child layer; a clone is
// a fresh layer whose parent is the snapshot's layer. No block entry is copied, so both are O(1).
// Every entry of every layer holds one chunk reference, so GC never frees a block any layer maps.
// When a layer loses its last holder: with no children it is dropped (its references released);
// with one child it is merged into that child (entries the child overrides are released), so a
// deleted snapshot frees the blocks overwritten since. Callers hold the service's meta lock.
// Drops and merges run in bounded atomic batches; a crash between batches leaves a layer with
// holders = 0, which resumeCollapses() finishes at the next start.
import { assert } from '../../dedup/index.js';
import { readLayer, readLayerEntries } from './block-map.js';
import type { ChunkId, ChunkStore, MetaOp, MetaStore } from './deps.js';
import { layerDropBatchEntriesMax } from './limits.js';
import { blockKey, decodeLayer, encodeJson, layerKey, layerPrefix, type BlockEntryCodec, type LayerId, type LayerRecordV1 } from './records.js';

export class Layers {
  constructor(private readonly meta: MetaStore, private readonly chunks: ChunkStore, private readonly codec: BlockEntryCodec,
    /** Called after a merge changed `layer`'s entries, so an open volume reloads its map. */
    private readonly onMerged: (layer: LayerId) => Promise<void>) {}

  /** Ops creating a new held layer under `parent` (whose record the caller passes, updated). */
  newLayerOps(id: LayerId, parent: LayerRecordV1 | null): MetaOp[] {
    const layer: LayerRecordV1 = { version: 1, id, parent: parent?.id ?? null, children: [], holders: 1 };
    const ops: MetaOp[] = [{ type: 'put', key: layerKey(id), value: encodeJson(layer) }];
    if (parent) {
      parent.children.push(id);
      ops.push({ type: 'put', key: layerKey(parent.id), value: encodeJson(parent) });
    }
    return ops;
  }

  get(id: LayerId): Promise<LayerRecordV1> {
    return readLayer(this.meta, id);
  }

  /** Drops one holder of `id` (atomically with `ops`), then collapses what became unheld. */
  async release(id: LayerId, ops: MetaOp[] = []): Promise<void> {
    const layer = await this.get(id);
    assert(layer.holders > 0, 'a released layer was held');
    layer.holders -= 1;
    await this.meta.batch([...ops, { type: 'put', key: layerKey(id), value: encodeJson(layer) }]);
    await this.collapse(id);
  }

  async collapse(id: LayerId): Promise<void> {
    for (let current: LayerId | null = id; current !== null;) {
      const layer = await this.get(current);
      if (layer.holders > 0 || layer.children.length > 1) return;
      if (layer.children.length === 1) {
        await this.merge(layer, layer.children[0]);
        return;
      }
      await this.drop(layer);
      current = layer.parent;
    }
  }

  /** Finishes drops and merges a crash interrupted. */
  async resumeCollapses(): Promise<void> {
    const unheld: LayerId[] = [];
    for await (const [, value] of this.meta.iterate({ gte: layerPrefix, lt: `${layerPrefix}\uffff` })) {
      const layer = decodeLayer(value);
      if (layer.holders === 0) unheld.push(layer.id);
    }
    for (const id of unheld) if (await this.meta.get(layerKey(id))) await this.collapse(id);
  }

  private async drop(layer: LayerRecordV1): Promise<void> {
    const entries = [...await readLayerEntries(this.meta, this.codec, layer.id)];
    for (let start = 0; start < entries.length; start += layerDropBatchEntriesMax) {
      const deltas = new Map<ChunkId, number>();
      const ops: MetaOp[] = [];
      for (const [index, entry] of entries.slice(start, start + layerDropBatchEntriesMax)) {
        if (entry) deltas.set(entry.id, (deltas.get(entry.id) ?? 0) - 1);
        ops.push({ type: 'del', key: blockKey(layer.id, index) });
      }
      await this.chunks.commit(deltas, ops);
    }
    const ops: MetaOp[] = [{ type: 'del', key: layerKey(layer.id) }];
    if (layer.parent) {
      const parent = await this.get(layer.parent);
      parent.children = parent.children.filter((child) => child !== layer.id);
      ops.push({ type: 'put', key: layerKey(parent.id), value: encodeJson(parent) });
    }
    await this.meta.batch(ops);
  }

  /** Moves `layer`'s entries into its only child: kept where the child has none, released where
   * the child overrides them. Visible content of every layer stays the same throughout. */
  private async merge(layer: LayerRecordV1, childId: LayerId): Promise<void> {
    const entries = [...await readLayerEntries(this.meta, this.codec, layer.id)];
    const childEntries = await readLayerEntries(this.meta, this.codec, childId);
    for (let start = 0; start < entries.length; start += layerDropBatchEntriesMax) {
      const deltas = new Map<ChunkId, number>();
      const ops: MetaOp[] = [];
      for (const [index, entry] of entries.slice(start, start + layerDropBatchEntriesMax)) {
        if (childEntries.has(index)) {
          if (entry) deltas.set(entry.id, (deltas.get(entry.id) ?? 0) - 1);
        } else {
          ops.push({ type: 'put', key: blockKey(childId, index), value: this.codec.encode(entry) });
        }
        ops.push({ type: 'del', key: blockKey(layer.id, index) });
      }
      await this.chunks.commit(deltas, ops);
    }
    const child = await this.get(childId);
    child.parent = layer.parent;
    const ops: MetaOp[] = [{ type: 'del', key: layerKey(layer.id) }, { type: 'put', key: layerKey(childId), value: encodeJson(child) }];
    if (layer.parent) {
      const parent = await this.get(layer.parent);
      parent.children = parent.children.map((id) => (id === layer.id ? childId : id));
      ops.push({ type: 'put', key: layerKey(parent.id), value: encodeJson(parent) });
    }
    await this.meta.batch(ops);
    await this.onMerged(childId);
  }
}
