// The one place the volumes layer seals and opens block chunks. Both are CPU-bound (sha256 +
// AES-GCM + sha256 to seal 64 KiB, ~0.15 ms here; verify + decrypt ~0.07 ms), so they run on the
// process-wide seal pool's worker threads and the main thread keeps serving NBD requests.
import { assert, type SealedChunk } from '../../dedup/index.js';
import { openChunkOffThread, sealChunkOffThread } from './deps.js';
import { volumeBlockBytes } from './limits.js';

/** The pool copies `plaintext` at dispatch: the caller must not change it until this settles. */
export async function sealBlock(plaintext: Buffer, salt: Buffer): Promise<SealedChunk> {
  assert(plaintext.length === volumeBlockBytes, 'volumes seal whole 64 KiB blocks');
  return sealChunkOffThread(plaintext, salt);
}

/** A fresh 64 KiB buffer: the pool's result is a view of a whole batch, which a cached block
 * must not keep alive. */
export async function openBlock(ciphertext: Buffer, key: Buffer): Promise<Buffer> {
  const plain = Buffer.from(await openChunkOffThread(ciphertext, key));
  assert(plain.length === volumeBlockBytes, 'a volume block is 64 KiB');
  return plain;
}
