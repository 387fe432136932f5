// The one place the volumes layer seals and opens block chunks. Blocks are sealed with dedup's
// paged block seal (each 4 KiB page its own GCM tag under the block's convergent key), so:
// - sealing a block and opening a whole one are CPU-bound (2 × sha256 + 16 page seals of 64 KiB,
//   ~0.2 ms here) and run on the process-wide seal pool's worker threads;
// - a read of a few pages preads only those pages' ciphertext (chunks.readCiphertext: no sha256
//   of the chunk, the pages' GCM tags authenticate what was read) and decrypts them on the main
//   thread: a 4 KiB page costs ~10 µs of AES-GCM, less than the pool's postMessage round trip.
// Blocks written by older builds are whole-chunk sealed (`paged: false`): read whole, verified
// by the store's sha256 and opened in the pool, as they always were.
import { assert, openPagedBlockPages, type SealedChunk } from '../../dedup/index.js';
import { openChunkOffThread, openLeasedOffThread, sealLeasedOffThread, type ChunkStore, type Leased } from './deps.js';
import type { MappedBlock } from './block-map.js';
import { pagedBlockCiphertextBytes, sealedPageCiphertextBytes, volumeBlockBytes, volumePageBytes } from './limits.js';

/**
 * The pool copies `plaintext` at dispatch: the caller must not change it until this settles. The
 * sealed chunk is leased: release it once its put settled (the pool then reuses the buffer).
 */
export async function sealBlock(plaintext: Buffer, salt: Buffer): Promise<Leased<SealedChunk>> {
  assert(plaintext.length === volumeBlockBytes, 'volumes seal whole 64 KiB blocks');
  return sealLeasedOffThread(plaintext, salt, true);
}

/** Puts a leased sealed block, releasing it when the put settled either way. */
export async function putLeased(chunks: ChunkStore, sealed: Leased<SealedChunk>): Promise<void> {
  try {
    await chunks.putSealed(sealed.value);
  } finally {
    sealed.release();
  }
}

/** The map entry of a block sealBlock sealed. */
export function mappedOf(chunk: SealedChunk): MappedBlock {
  return { id: chunk.id, key: chunk.key, paged: true };
}

/** The whole block, every byte authenticated. A fresh 64 KiB buffer: the pool's result is a
 * view of a whole batch, which a cached block must not keep alive. */
export async function openBlock(chunks: ChunkStore, mapped: MappedBlock): Promise<Buffer> {
  const opened = mapped.paged
    ? await openLeasedOffThread(await chunks.readCiphertext(mapped.id, 0, pagedBlockCiphertextBytes), mapped.key, true)
    : { value: await openChunkOffThread(await chunks.get(mapped.id), mapped.key), release: () => {} };
  try {
    assert(opened.value.length === volumeBlockBytes, 'a volume block is 64 KiB');
    // allocUnsafe + copy: Buffer.from(view) zero-fills its new buffer first (6.7 % of the main
    // thread in a sequential-read profile), and every byte is overwritten here anyway.
    const plain = Buffer.allocUnsafe(volumeBlockBytes);
    opened.value.copy(plain);
    return plain;
  } finally {
    opened.release(); // copied: the pool may reuse the batch buffer
  }
}

/** Plaintext of pages [firstPage, firstPage + pages) of a paged block, read and authenticated
 * alone (ChunkCorrupt if any of them fails its tag). */
export async function openBlockPages(chunks: ChunkStore, mapped: MappedBlock, firstPage: number, pages: number): Promise<Buffer> {
  assert(mapped.paged, 'only paged blocks open page by page');
  const ciphertext = await chunks.readCiphertext(mapped.id, firstPage * sealedPageCiphertextBytes, pages * sealedPageCiphertextBytes);
  const plain = openPagedBlockPages(ciphertext, mapped.key, firstPage);
  assert(plain.length === pages * volumePageBytes, 'opened pages are whole pages');
  return plain;
}
