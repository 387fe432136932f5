// Named bounds for dedup/ (STYLE.md §12). Every other file takes its sizes from here, and the
// relationships between them are asserted once, at module load, so a bad edit fails on import.
import { assert } from './errors.js';

const kibibyte = 1024;
const mebibyte = 1024 * kibibyte;
const gibibyte = 1024 * mebibyte;

/** Smallest minBytes a content chunker accepts: below this, per-chunk overhead dominates. */
export const chunkBytesMin = 64;
/** Largest chunk any chunker may emit; the chunk store may size its buffers by this. */
export const chunkBytesMax = 1 * mebibyte;
/** Fixed block size of volumes; an extent maps onto whole blocks of this size. */
export const volumeBlockBytes = 64 * kibibyte;

/** Volume blocks are sealed page by page (paged-seal.ts), so a small read decrypts only the pages
 * it touches. Two page sizes, each its own chunk format: `pages4k` (the first; 16 GCM calls a
 * block) and `pages16k`, which this build writes: node's per-call cost (~5 µs a GCM
 * create/update/final) made a 4 KiB-paged seal ~240 µs a block against ~160 µs with 16 KiB pages
 * and ~135 µs whole (LIMITS.md's machine), while a 4 KiB read then decrypts 16 KiB (~+5 µs). */
export const sealedPageBytesOf = { pages4k: 4 * kibibyte, pages16k: 16 * kibibyte } as const;
export type PagedFormat = keyof typeof sealedPageBytesOf;
/** The paged format new volume blocks are sealed with. */
export const pagedFormatWritten: PagedFormat = 'pages16k';

/** Convergent key, AES-256 key and manifest data key: 256 bits. */
export const chunkKeyBytes = 32;
/** sha256 output; a ChunkId is its lowercase hex. */
export const chunkIdBytes = 32;
export const chunkIdHexLength = 2 * chunkIdBytes;
/** AES-GCM tag (NIST SP 800-38D §5.2.1.2: full 128-bit tags; we never truncate). */
export const aeadTagBytes = 16;
/** AES-GCM IV length recommended by SP 800-38D §8.2 (96 bits). */
export const gcmNonceBytes = 12;
/** A paged block chunk is its pages' ciphertext ‖ tag back to back: 16 × (4096 + 16) = 65,792 bytes
 * (pages4k), 4 × (16384 + 16) = 65,600 (pages16k). */
export function pagedBlockCiphertextBytesOf(format: PagedFormat): number {
  return (volumeBlockBytes / sealedPageBytesOf[format]) * (sealedPageBytesOf[format] + aeadTagBytes);
}
/** XChaCha20 extended nonce (draft-irtf-cfrg-xchacha §2). */
export const xchachaNonceBytes = 24;

/** Redundancy R of a salt policy is at most this many distinct ciphertexts per plaintext. */
export const saltsMax = 64;
export const saltBytes = 32;
/** The deployment secret salts are derived from: at least a full 256-bit key. */
export const deploymentSecretBytesMin = 32;
export const deploymentSecretBytesMax = 1024;
/** Time-based salting windows: one second up to ten years. */
export const saltWindowSecondsMin = 1;
export const saltWindowSecondsMax = 10 * 365 * 24 * 60 * 60;

/**
 * One manifest describes at most this many chunks. An S3 object or part is at most 5 GiB
 * (AWS "Amazon S3 multipart upload limits"); larger things (volumes, multipart objects) are
 * several manifests, composed by blockstore/blobs.
 */
export const manifestEntriesMax = 1 << 20;
export const s3ObjectPartBytesMax = 5 * gibibyte;
/** Fixed header and per-entry sizes of the binary ManifestV1 (see manifest.ts). */
export const manifestHeaderBytes = 20;
export const manifestEntryBytes = chunkIdBytes + chunkKeyBytes + 4;
export const manifestEncodedBytesMax = manifestHeaderBytes + manifestEntriesMax * manifestEntryBytes;

// Relationships. Each one is a property some other file relies on.
assert(volumeBlockBytes <= chunkBytesMax, 'a volume block must fit in one chunk');
for (const pageBytes of Object.values(sealedPageBytesOf)) {
  assert(pageBytes % 512 === 0 && volumeBlockBytes % pageBytes === 0 && pageBytes < volumeBlockBytes, 'pages of whole sectors tile a volume block');
  assert((volumeBlockBytes / pageBytes) * (pageBytes + aeadTagBytes) <= chunkBytesMax + aeadTagBytes, 'a paged block fits the chunk store\'s largest chunk');
}
assert(chunkBytesMin < volumeBlockBytes, 'chunkBytesMin must be below any useful chunk size');
assert(chunkBytesMax <= 2 ** 32 - 1, 'entry lengths are stored as u32');
assert(chunkBytesMax + aeadTagBytes < 2 ** 31, 'chunk offsets stay in int32 range');
assert(
  manifestEntriesMax * 16 * kibibyte >= s3ObjectPartBytesMax,
  'a largest S3 part cut at 16 KiB minimum chunks must fit in one manifest',
);
assert(manifestEncodedBytesMax < 2 ** 31, 'an encoded manifest must fit in one Buffer');
assert(saltsMax >= 1 && saltsMax <= 2 ** 16, 'salt indices are small integers');
assert(saltBytes === chunkKeyBytes, 'a salt is a full-strength secret');
assert(saltWindowSecondsMax * 1000 < Number.MAX_SAFE_INTEGER, 'window arithmetic stays exact');
