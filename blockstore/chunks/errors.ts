// Operating errors of the chunk store (STYLE.md §7). Doors map these codes: ChunkMissing and
// ChunkCorrupt are data loss the node detected (S3 500 InternalError, NBD EIO); ChunkStoreFailed
// means the store stopped after a disk error and must be reopened (fail-stop, STYLE.md §6).
import { CairnError } from '../../dedup/errors.js';

export type ChunkStoreErrorCode = 'ChunkMissing' | 'ChunkCorrupt' | 'ChunkStoreFailed';
export const chunkStoreErrorCodes: readonly ChunkStoreErrorCode[] = ['ChunkMissing', 'ChunkCorrupt', 'ChunkStoreFailed'];

export class ChunkStoreError extends CairnError<ChunkStoreErrorCode> {}

export function isChunkStoreError(error: unknown, code?: ChunkStoreErrorCode): error is ChunkStoreError {
  return error instanceof ChunkStoreError && (code === undefined || error.code === code);
}
