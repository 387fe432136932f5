// The operating-error codes dedup/ throws (STYLE.md §7). Doors map these through their own
// tables; all of them are a client's or a disk's fault, never a bug (bugs are AssertionError).
import { CairnError } from './errors.js';

export type DedupErrorCode =
  | 'ChunkCorrupt' // a chunk's ciphertext failed its id hash or its AEAD tag
  | 'ManifestCorrupt' // a manifest failed to decode, unwrap or authenticate
  | 'InvalidSaltPolicy' // a salt policy document is malformed or out of bounds
  | 'InvalidChunkerParams' // chunker sizes out of bounds or inconsistent
  | 'InvalidRange'; // a byte range that does not lie within the object

export const dedupErrorCodes: readonly DedupErrorCode[] = [
  'ChunkCorrupt',
  'ManifestCorrupt',
  'InvalidSaltPolicy',
  'InvalidChunkerParams',
  'InvalidRange',
];

export class DedupError extends CairnError<DedupErrorCode> {}

export function isDedupError(error: unknown, code: DedupErrorCode): boolean {
  return error instanceof CairnError && error.code === code;
}
