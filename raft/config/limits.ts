// Named bounds for the configuration service (STYLE.md §12). 0 never means "unlimited".
import { assert, raftEntryBytesMax } from '../core/index.js';

/** Bytes in a key (UTF-8). */
export const configKeyBytesMax = 1024;
/** Bytes in a value (UTF-8). */
export const configValueBytesMax = 256 * 1024;
/** Keys one range read returns; a larger range is cut and says so (`more`). */
export const configRangeKeysMax = 1000;
/** Change events kept for watches; a watch older than the oldest kept answers Compacted. */
export const configWatchEventsMax = 10_000;
/** Long-poll watches one node holds open at once. */
export const configWatchersMax = 4096;
/** Events one watch response carries. */
export const configWatchBatchMax = 1000;
/** Clients whose recent responses are cached for retries (§6.3); the least recent is evicted. */
export const configClientsMax = 10_000;
/** Responses cached per client: a client may have this many requests in flight at once. */
export const configClientWindowMax = 128;
/** Live leases; and bounds on one lease's time to live. */
export const configLeasesMax = 10_000;
export const configLeaseTtlMsMin = 100;
export const configLeaseTtlMsMax = 24 * 3600 * 1000;
/** Bytes of a client id. */
export const configClientIdBytesMax = 64;
/** Bytes of an HTTP request body the node reads. */
export const configBodyBytesMax = configValueBytesMax + 4096;

assert(configKeyBytesMax + configValueBytesMax + 4096 < raftEntryBytesMax, 'a command fits in one raft entry');
assert(configWatchBatchMax <= configWatchEventsMax, 'a watch batch fits in the kept events');
assert(configLeaseTtlMsMin < configLeaseTtlMsMax, 'lease TTL bounds ordered');
