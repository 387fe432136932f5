// Chunk ids are sha256(ciphertext) in lowercase hex (ARCHITECTURE.md, "chunk id"). One definition,
// dedup's; this module adds only what the store needs on top of it.
import { assert } from '../../dedup/errors.js';
import { chunkIdOf, isChunkId, type ChunkId } from '../../dedup/index.js';

export { chunkIdOf, isChunkId, type ChunkId };

export const chunkIdBytes = 32;

export function assertChunkId(value: unknown): asserts value is ChunkId {
  assert(isChunkId(value), `not a chunk id (64 lowercase hex): ${String(value).slice(0, 80)}`);
}
