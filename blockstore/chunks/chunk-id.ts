// Chunk ids are sha256(ciphertext) in lowercase hex (ARCHITECTURE.md, "chunk id"). The brand has
// the same shape dedup/ will export, so its ChunkId and this one are interchangeable; until
// dedup/index.ts exists this folder keeps its own check rather than import a moving target.
import { createHash } from 'node:crypto';
import { assert } from '../../dedup/errors.js';

export type ChunkId = string & { readonly __brand: 'ChunkId' };

export const chunkIdBytes = 32;
const chunkIdPattern = /^[0-9a-f]{64}$/;

export function isChunkId(value: unknown): value is ChunkId {
  return typeof value === 'string' && chunkIdPattern.test(value);
}

export function assertChunkId(value: unknown): asserts value is ChunkId {
  assert(isChunkId(value), `not a chunk id (64 lowercase hex): ${String(value).slice(0, 80)}`);
}

/** The id the store expects for these bytes; node:crypto because sha256 is on every byte's path. */
export function chunkIdOf(ciphertext: Uint8Array): ChunkId {
  return createHash('sha256').update(ciphertext).digest('hex') as ChunkId;
}
