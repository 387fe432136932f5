// What the volumes layer takes from the layers below, imported through their index files only.
export type { ChunkStore } from '../chunks/index.js';
export { nodeDisk, withCiphertext, type DiskFile } from '../chunks/index.js';
export type { MetaOp, MetaStore } from '../meta/index.js';
export type { BlockDevice, BlockExtent, ExportDescription, ExportRegistry } from '../nbd/index.js';
export { NbdError } from '../nbd/index.js';
export type { ChunkId } from '../../dedup/index.js';
export { openChunkOffThread, openLeasedOffThread, sealLeasedOffThread, type Leased, type SealFormat } from '../blobs/index.js';
