// The resolved block map of one open volume or snapshot: `base` is what the ancestors of the head
// layer map (resolved root → parent, later layers winning, holes removing), `own` is the head
// layer's own entries (null = an explicit hole hiding an ancestor's block). Both are resident;
// MetaStore holds the same entries durably (records.ts layout).
import type { ChunkId, MetaStore, SealFormat } from './deps.js';
import { assert } from '../../dedup/index.js';
import { layerChainLengthMax } from './limits.js';
import {
  blockIndexOfKey, blockPrefix, decodeLayer, layerKey, type BlockEntryCodec, type BlockRef, type LayerId, type LayerRecordV1,
} from './records.js';

/** A stored block: its chunk, the chunk's key, and which seal made it — a paged format (dedup's
 * paged block seal; a page reads alone: `pages16k` for every block this build writes, `pages4k`
 * from earlier builds) or `chunk` (whole-chunk sealed, the oldest builds). */
export type MappedBlock = { id: ChunkId; key: Buffer; seal: SealFormat };

export class BlockMap {
  constructor(public head: LayerId, readonly base: Map<number, MappedBlock>, public own: Map<number, BlockRef>) {}

  visible(index: number): MappedBlock | undefined {
    const entry = this.own.get(index);
    if (entry !== undefined) return entry ?? undefined;
    return this.base.get(index);
  }

  ancestorHas(index: number): boolean {
    return this.base.has(index);
  }

  /** Blocks that hold data (for `volume info`). */
  mappedBlocks(): number {
    let count = 0;
    for (const entry of this.own.values()) if (entry !== null) count += 1;
    for (const index of this.base.keys()) if (!this.own.has(index)) count += 1;
    return count;
  }
}

export async function readLayer(meta: MetaStore, id: LayerId): Promise<LayerRecordV1> {
  const bytes = await meta.get(layerKey(id));
  assert(bytes !== undefined, `layer ${id} is missing`);
  return decodeLayer(bytes);
}

export async function readLayerEntries(meta: MetaStore, codec: BlockEntryCodec, id: LayerId): Promise<Map<number, BlockRef>> {
  const entries = new Map<number, BlockRef>();
  const prefix = blockPrefix(id);
  for await (const [key, value] of meta.iterate({ gte: prefix, lt: `${prefix}\uffff` })) entries.set(blockIndexOfKey(key), codec.decode(value));
  return entries;
}

/** Layers from `head` up to the root, head first. */
export async function layerChain(meta: MetaStore, head: LayerId): Promise<LayerRecordV1[]> {
  const chain: LayerRecordV1[] = [];
  for (let id: LayerId | null = head; id !== null;) {
    assert(chain.length < layerChainLengthMax, 'layer chain longer than layerChainLengthMax');
    const layer = await readLayer(meta, id);
    chain.push(layer);
    id = layer.parent;
  }
  return chain;
}

/** Loads the resolved map of a head layer. */
export async function loadBlockMap(meta: MetaStore, codec: BlockEntryCodec, head: LayerId): Promise<BlockMap> {
  const chain = await layerChain(meta, head);
  const base = new Map<number, MappedBlock>();
  for (const layer of chain.slice(1).reverse()) {
    for (const [index, entry] of await readLayerEntries(meta, codec, layer.id)) {
      if (entry === null) base.delete(index);
      else base.set(index, entry);
    }
  }
  return new BlockMap(head, base, await readLayerEntries(meta, codec, head));
}
