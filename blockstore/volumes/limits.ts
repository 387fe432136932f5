// Named bounds of the volumes layer (STYLE.md §12). Relationships are asserted at load, so a bad
// edit fails the first import rather than a client under load. 0 never means "unlimited".
import { assert, dedupLimits, volumeBlockBytes } from '../../dedup/index.js';

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
/** The unit the overlay indexes partial-block writes by: each page points at a journal record. */
export const volumePageBytes = 4096;
/** Dirty blocks (overlay entries: chunk refs, holes, or pages in the journal) of one volume that
 * start a background fold. An entry is small (a ref, or one index entry per dirty page), so this
 * bounds the size of a fold's commit, not memory. */
export const foldTriggerBlocks = 8192;
/** Journal bytes of one volume that start a fold. Partial writes stay in the journal until then,
 * so the fold's 64 KiB seal per touched block is shared by every write to it since the last fold:
 * the larger, the less amplification. Measured, 4 KiB random writes at QD32 over 256 MiB of an
 * empty volume through a real server (fio, 15 s, alternating): 9,120–10,147 IOPS at 256 MiB,
 * 10,293–18,780 (median ~11k) at 512, with less server CPU; on a volume already written (bench
 * volumes: each folded block also reads its base) no gain showed (10,444 vs 10,278–10,985).
 * The price: up to journalBytesMax of journal on disk per volume, and replay reads all of it
 * after a crash (4 MiB windows, a few seconds per GiB). */
export const journalFoldBytes = 512 * 1024 * 1024;
/** Dirty blocks past which each write first waits for one block of fold progress (pacing). */
export const dirtyPaceBlocks = 12_288;
/** Dirty blocks past which writers wait for a fold to finish (a fold commit must fit one batch). */
export const dirtyBlocksMax = 16_384;
/** Active journal bytes past which writers wait for the running fold to finish. */
export const journalBytesMax = 2 * journalFoldBytes;
/** Largest payload of one journal record: an NBD request (32 MiB) journaled whole by older
 * builds. This build's write records cover at most one block's pages (< 64 KiB), so a 4 KiB
 * read of a journaled page decrypts at most that. */
export const journalRecordPayloadBytesMax = 32 * 1024 * 1024;
/** Bytes read per call when recovery streams a journal. */
export const journalReplayWindowBytes = 4 * 1024 * 1024;
/** Blocks put concurrently during a fold: enough to fill the chunk store's group commits. */
export const foldPutsInflightMax = 64;
/** Blocks a fold seals before yielding to the event loop (each ~0.2 ms of CPU). */
export const foldSealsPerTurnMax = 8;
/** Journal bytes written but not yet handed to the kernel; past it writers wait (backpressure). */
export const journalPendingBytesMax = 64 * 1024 * 1024;
/** Ciphertext of acked whole-block writes whose chunk puts are still running, per volume; past it
 * writers wait. Large enough for the chunk store's group commit to batch (256 blocks in flight),
 * small next to the NBD server's in-flight bound. Each pending block pins its seal-pool batch
 * buffer (8 blocks a 1 MiB buffer): at 64 MiB ~128 buffers were in flight, past the pool's free
 * list, so sealing kept touching fresh memory (page faults per 256 MiB sequential write after
 * the first: 10–16k; at 16 MiB: 3–9k, at the same throughput). */
export const volumePutPendingBytesMax = 16 * 1024 * 1024;
/** Bytes per writev call of the journal writer. */
export const journalWriteBytesMax = 8 * 1024 * 1024;
/** Block map entries deleted per atomic batch when a layer is dropped. */
export const layerDropBatchEntriesMax = 10_000;
/** Layers in one chain (snapshots of snapshots of clones…); resolving walks them all. */
export const layerChainLengthMax = 4096;
/** Decrypted blocks cached per open volume for reads of mapped blocks (128 MiB): a miss costs a
 * chunk get, an id hash and a decrypt of the whole 64 KiB block, ~0.3 ms of CPU here. */
export const readCacheBlocksMax = 2048;
/** A read of a paged block that is not cached and decrypts at most this many bytes of pages
 * (pages16k: 2 pages, pages4k: 8) preads and decrypts only those pages on the main thread (~15 µs
 * a 16 KiB page), and caches nothing; a larger one opens the whole block in the seal pool and
 * caches it (sequential readers then hit the cache). */
export const pageReadBytesMax = 32 * 1024;

assert(volumeBlockBytes === 64 * 1024, 'the journal record layout and map keys assume 64 KiB blocks');
assert(volumeBytesMax % volumeSizeGranuleBytes === 0, 'volumeBytesMax is whole blocks');
assert(Number.isSafeInteger(volumeBytesMax / volumeBlockBytes), 'block indexes are safe integers');
assert(foldTriggerBlocks < dirtyPaceBlocks && dirtyPaceBlocks < dirtyBlocksMax, 'a fold starts before writers are paced, pacing before they must wait');
assert(dirtyBlocksMax <= 50_000 / 3, 'one fold commit fits a chunk store commit (3 ops per block)');
assert(volumeBlockBytes % volumePageBytes === 0 && volumePageBytes % 512 === 0, 'pages tile blocks and hold whole sectors');
assert(pageReadBytesMax >= Math.max(...Object.values(dedupLimits.sealedPageBytesOf)) && pageReadBytesMax < volumeBlockBytes,
  'page reads are for parts of a block, and at least one page of any format');
assert(journalWriteBytesMax <= journalPendingBytesMax, 'one write never exceeds the pending bound');
assert(journalBytesMax > journalFoldBytes && journalPendingBytesMax < journalFoldBytes, 'writers wait only after a fold has started');
assert(journalReplayWindowBytes >= 64 * 1024, 'a replay window holds this build\'s largest write record');
assert(layerDropBatchEntriesMax * 2 <= 50_000, 'a drop batch fits one chunk store commit');
