// Named bounds of the volumes layer (STYLE.md §12). Relationships are asserted at load, so a bad
// edit fails the first import rather than a client under load. 0 never means "unlimited".
import { assert, volumeBlockBytes } from '../../dedup/index.js';

export { volumeBlockBytes };

/** Volume sizes are whole blocks, so the last block is never partial (resize needs no tail RMW). */
export const volumeSizeGranuleBytes = volumeBlockBytes;
/** Largest volume: 16 TiB. The resolved block map is resident (~200 B per written block). */
export const volumeBytesMax = 16 * 1024 ** 4;
/** Volume and snapshot names: [A-Za-z0-9._-], so `NAME@SNAP` and meta keys stay unambiguous. */
export const volumeNameBytesMax = 128;
/** Volumes and snapshots per node, so list() and the NBD export list stay bounded. */
export const volumesMax = 4096;
export const snapshotsPerVolumeMax = 1024;
/** Dirty (journaled, not yet folded) bytes of one volume that start a background fold. Small
 * slices keep each fold's commit and its pause short; writers keep appending meanwhile. */
export const foldTriggerBytes = 8 * 1024 * 1024;
/** Journal bytes of one volume that start a fold even if few blocks are dirty (rewrites). */
export const journalFoldBytes = 256 * 1024 * 1024;
/** Dirty bytes past which each write first waits for one block of fold progress (pacing). */
export const dirtyPaceBytes = 64 * 1024 * 1024;
/** Dirty bytes past which writers wait for a fold to finish (bounds memory per volume). */
export const dirtyBytesMax = 128 * 1024 * 1024;
/** Blocks put concurrently during a fold: enough to fill the chunk store's group commits. */
export const foldPutsInflightMax = 64;
/** Blocks a fold seals before yielding to the event loop (each ~0.2 ms of CPU). */
export const foldSealsPerTurnMax = 8;
/** Journal bytes written but not yet handed to the kernel; past it writers wait (backpressure). */
export const journalPendingBytesMax = 64 * 1024 * 1024;
/** Bytes per writev call of the journal writer. */
export const journalWriteBytesMax = 8 * 1024 * 1024;
/** A journal file is read whole on recovery; a fold starts long before it gets this big. */
export const journalFileBytesMax = 1024 * 1024 * 1024;
/** Block map entries deleted per atomic batch when a layer is dropped. */
export const layerDropBatchEntriesMax = 10_000;
/** Layers in one chain (snapshots of snapshots of clones…); resolving walks them all. */
export const layerChainLengthMax = 4096;
/** Decrypted blocks cached per open volume for reads of mapped blocks (128 MiB): a miss costs a
 * chunk get, an id hash and a decrypt of the whole 64 KiB block, ~0.3 ms of CPU here. */
export const readCacheBlocksMax = 2048;

assert(volumeBlockBytes === 64 * 1024, 'the journal record layout and map keys assume 64 KiB blocks');
assert(volumeBytesMax % volumeSizeGranuleBytes === 0, 'volumeBytesMax is whole blocks');
assert(Number.isSafeInteger(volumeBytesMax / volumeBlockBytes), 'block indexes are safe integers');
assert(foldTriggerBytes < dirtyPaceBytes && dirtyPaceBytes < dirtyBytesMax, 'a fold starts before writers are paced, pacing before they must wait');
assert(dirtyBytesMax / volumeBlockBytes <= 50_000 / 3, 'one fold commit fits a chunk store commit (3 ops per block)');
assert(journalWriteBytesMax <= journalPendingBytesMax, 'one write never exceeds the pending bound');
assert(journalFileBytesMax >= 2 * journalFoldBytes && journalFoldBytes >= foldTriggerBytes, 'a journal holds at least two folds of dirty data');
assert(layerDropBatchEntriesMax * 2 <= 50_000, 'a drop batch fits one chunk store commit');
