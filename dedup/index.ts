// The public face of dedup/: other layers import only from here (STYLE.md "Do not imitate").
export { AssertionError, CairnError, assert, isCairnError } from './errors.js';
export { type DedupErrorCode, DedupError, dedupErrorCodes, isDedupError } from './error-codes.js';
export * as dedupLimits from './limits.js';
export { volumeBlockBytes, chunkBytesMax, manifestEntriesMax, saltsMax } from './limits.js';
export { SplitMix32 } from './splitmix32.js';
export {
  type ChunkerParams, ContentChunker, FixedBlocker, objectChunkerParams, validateChunkerParams,
} from './chunker.js';
export {
  type ChunkId, type ChunkSeal, type SealedChunk, chunkIdFromBytes, chunkIdOf, convergentKeyOf, isChunkId, openChunk,
  openVerifiedChunk, sealChunk, sealChunkInto,
} from './convergent.js';
export {
  openPagedBlock, openPagedBlockPages, openPagedBlockRange, pagedBlockKeyOf, pagedBytesTouched, sealPagedBlock, sealPagedBlockInto,
  type ChunkSliceReader,
} from './paged-seal.js';
export { type PagedFormat, pagedFormatWritten, pagedBlockCiphertextBytesOf } from './limits.js';
export {
  type SaltContext, type SaltCriterion, type SaltPolicyDocumentV1, type SaltPolicyV1,
  decodeSaltPolicy, defaultSaltPolicy, deriveSalt, encodeSaltPolicy, saltIndexFor, validateSaltPolicy,
} from './salt-policy.js';
export {
  type ChunkRange, type ManifestEntryV1, type ManifestV1, ManifestEntries,
  decodeManifest, encodeManifest, locateRange, offsetsOf,
} from './manifest.js';
export { openManifest, sealManifest, sealedManifestBytesMax } from './manifest-seal.js';
