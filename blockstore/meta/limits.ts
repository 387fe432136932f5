// Named bounds of the KV index (STYLE.md §12). Relationships are asserted at module load so a bad
// edit fails at import, not under load.
import { assert } from '../../dedup/errors.js';

export const metaLimits = {
  /** Longest key in UTF-8 bytes; S3 keys are ≤ 1024 bytes, plus a namespace and bucket prefix. */
  keyBytesMax: 2048,
  /** Largest single value; manifests of 5 TiB objects are sharded above this layer. */
  valueBytesMax: 16 * 1024 * 1024,
  /** Ops in one caller's batch. */
  batchOpsMax: 1_000_000,
  /** Caller batches coalesced into one LevelDB write (one fsync). */
  groupCommitBatchesMax: 1024,
  /** Ops in one coalesced LevelDB write; a single caller batch may exceed it and then goes alone. */
  groupCommitOpsMax: 1_000_000,
} as const;

assert(metaLimits.keyBytesMax > 0 && metaLimits.keyBytesMax <= 64 * 1024, 'keyBytesMax in (0, 64 KiB]');
assert(metaLimits.groupCommitOpsMax >= metaLimits.batchOpsMax, 'a full caller batch fits one group commit');
assert(metaLimits.groupCommitBatchesMax >= 1, 'groupCommitBatchesMax ≥ 1');
