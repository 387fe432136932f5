// The one place the volumes layer seals and opens block chunks. Blocks are sealed with dedup's
// paged block seal in the format this build writes (pagedFormatWritten: 16 KiB pages, each its
// own GCM tag under the block's convergent key), so:
// - sealing a block and opening a whole one are CPU-bound (2 × sha256 + 4 page seals of 64 KiB,
//   ~0.16 ms here) and run on the process-wide seal pool's worker threads;
// - a small read preads only the pages it touches (withCiphertext: a lent read buffer, no sha256
//   of the chunk, the pages' GCM tags authenticate what was read) and decrypts them on the main thread:
//   a 16 KiB page costs ~15 µs of AES-GCM, less than the pool's postMessage round trip.
// Blocks of earlier builds keep their format and read as they always did: `pages4k` (4 KiB pages)
// alike, `chunk` (whole-chunk sealed) read whole, verified by the store's sha256, opened in the pool.
import { assert, openPagedBlockRange, pagedBlockCiphertextBytesOf, pagedFormatWritten, type SealedChunk } from '../../dedup/index.js';
import { openChunkOffThread, openLeasedOffThread, sealLeasedOffThread, withCiphertext, type ChunkStore, type Leased } from './deps.js';
import type { MappedBlock } from './block-map.js';
import { volumeBlockBytes } from './limits.js';

/**
 * The pool copies `plaintext` at dispatch: the caller must not change it until this settles. The
 * sealed chunk is leased: release it once its put settled (the pool then reuses the buffer).
 */
export async function sealBlock(plaintext: Buffer, salt: Buffer): Promise<Leased<SealedChunk>> {
  assert(plaintext.length === volumeBlockBytes, 'volumes seal whole 64 KiB blocks');
  return sealLeasedOffThread(plaintext, salt, pagedFormatWritten);
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
  return { id: chunk.id, key: chunk.key, seal: pagedFormatWritten };
}

/** The whole block, every byte authenticated. A fresh 64 KiB buffer: the pool's result is a
 * view of a whole batch, which a cached block must not keep alive. */
export async function openBlock(chunks: ChunkStore, mapped: MappedBlock): Promise<Buffer> {
  const { seal } = mapped;
  const opened = seal === 'chunk'
    ? { value: await openChunkOffThread(await chunks.get(mapped.id), mapped.key), release: () => {} }
    : await withCiphertext(chunks, mapped.id, 0, pagedBlockCiphertextBytesOf(seal), (ciphertext) => openLeasedOffThread(ciphertext, mapped.key, seal));
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

/** Plaintext bytes [from, to) of a paged block, from the ciphertext of the pages they touch alone
 * (ChunkCorrupt if any of them fails its tag). */
export async function openBlockRange(chunks: ChunkStore, mapped: MappedBlock, from: number, to: number): Promise<Buffer> {
  const { seal } = mapped;
  assert(seal !== 'chunk', 'only paged blocks open page by page');
  // The pages are read into a lent buffer (no allocation per small read) and opened before it
  // goes back: the plaintext is GCM's own output, never a view of the ciphertext.
  const plain = await openPagedBlockRange((offset, length, open) => withCiphertext(chunks, mapped.id, offset, length, open), mapped.key, from, to, seal);
  assert(plain.length === to - from, 'a range opens to exactly its bytes');
  return plain;
}
