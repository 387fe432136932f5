// The one place the volumes layer seals and opens block chunks. Both are CPU-bound (sha256 +
// AES-GCM + sha256 to seal 64 KiB, ~0.15 ms here); they return promises so that moving them off
// the main thread (blockstore/blobs/seal-pool.ts, when it lands) changes only this file.
import { assert, openChunk, sealChunk, type SealedChunk } from '../../dedup/index.js';
import { volumeBlockBytes } from './limits.js';

export function sealBlock(plaintext: Buffer, salt: Buffer): Promise<SealedChunk> {
  assert(plaintext.length === volumeBlockBytes, 'volumes seal whole 64 KiB blocks');
  return Promise.resolve(sealChunk(plaintext, salt));
}

export function openBlock(ciphertext: Buffer, key: Buffer): Promise<Buffer> {
  const plain = openChunk(ciphertext, key);
  assert(plain.length === volumeBlockBytes, 'a volume block is 64 KiB');
  return Promise.resolve(plain);
}
