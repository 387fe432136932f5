// Named bounds for the transport (STYLE.md §12). Relationships are asserted at load; 0 never
// means "unlimited".
import { assert, raftMsgBytesMax, raftSnapshotChunkBytesMax } from '../core/index.js';

/** Payload bytes in one frame: the biggest append (a full batch plus per-entry headers) fits. */
export const transportFrameBytesMax = raftMsgBytesMax + 64 * 1024;
/** Frames queued toward one peer before new ones are dropped (Raft tolerates loss, §3.3). */
export const transportQueueFramesMax = 4096;
/** Bytes queued toward one peer before new frames are dropped. */
export const transportQueueBytesMax = 64 * 1024 * 1024;
/** Reconnect backoff: first retry after the minimum, doubling up to the maximum. */
export const transportBackoffMsMin = 20;
export const transportBackoffMsMax = 1_000;
/** A connection attempt that has not completed by then is abandoned and retried. */
export const transportConnectMsMax = 2_000;
/** Bytes of a heartbeat read context. */
export const transportContextBytesMax = 1024;
/** Inbound connections one transport accepts at once (peers reconnect; stale ones linger). */
export const transportInboundConnectionsMax = 64;

assert(transportFrameBytesMax > raftMsgBytesMax, 'a frame holds the largest append');
assert(transportFrameBytesMax > raftSnapshotChunkBytesMax, 'a frame holds a snapshot chunk');
assert(transportQueueBytesMax >= 4 * transportFrameBytesMax, 'the queue holds several full frames');
assert(transportBackoffMsMin >= 1 && transportBackoffMsMin < transportBackoffMsMax, 'backoff bounds ordered');
