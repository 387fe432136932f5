// Named bounds for the core (STYLE.md §12). Relationships are asserted at load; 0 never means
// "unlimited". Timeouts are in ticks: the core never reads a clock (STYLE.md §8).
import { assert } from './assert.js';

/** Messages in flight to one follower in replicate state (flow control, thesis §10.2.2). */
export const raftInflightMsgsMax = 64;
/** Entries in one append message (batching). */
export const raftMsgEntriesMax = 256;
/** Bytes of entry data in one append message; one entry may exceed it alone, up to entryBytesMax. */
export const raftMsgBytesMax = 1024 * 1024;
/** Bytes in one proposed entry. */
export const raftEntryBytesMax = 1024 * 1024;
/** Entries the leader may hold beyond the commit index before it drops proposals. */
export const raftUncommittedEntriesMax = 8192;
/** Bytes of snapshot data in one snapshot message (InstallSnapshot chunks, Raft paper §7). */
export const raftSnapshotChunkBytesMax = 256 * 1024;
/** Ticks without snapshot progress before the leader restarts the transfer. */
export const raftSnapshotStallTicksMax = 30;
/** Pending ReadIndex requests the leader keeps (thesis §6.4). */
export const raftReadIndexPendingMax = 4096;
/** Ready messages queued before the shell drains them; a core that needs more has a bug. */
export const raftReadyMessagesMax = 1 << 20;
/** Bounds on the ticks a caller may configure. */
export const raftElectionTicksMin = 3;
export const raftElectionTicksMax = 10_000;
export const raftHeartbeatTicksMin = 1;
/** Cluster size bound: quorum arithmetic and progress maps are sized for this. */
export const raftVotersMax = 9;
export const raftLearnersMax = 16;

assert(raftInflightMsgsMax >= 1, 'raftInflightMsgsMax must be positive');
assert(raftMsgEntriesMax >= 1, 'raftMsgEntriesMax must be positive');
assert(raftEntryBytesMax <= raftMsgBytesMax, 'one entry must fit in one message');
assert(raftUncommittedEntriesMax >= raftMsgEntriesMax, 'uncommitted window must hold a batch');
assert(raftSnapshotChunkBytesMax >= 1, 'snapshot chunks must carry bytes');
assert(raftSnapshotStallTicksMax > raftElectionTicksMin, 'stall timeout above election timeout');
assert(raftHeartbeatTicksMin < raftElectionTicksMin, 'heartbeats must come faster than elections');
assert(raftVotersMax % 2 === 1, 'an odd voter bound keeps quorums strict');

/** A snapshot bigger than this is refused by the receiver (bounds the reassembly buffer). */
export const raftSnapshotBytesMax = 1024 * 1024 * 1024;
/** Committed entries handed to the application in one Ready. */
export const raftApplyEntriesMax = 1024;
assert(raftSnapshotChunkBytesMax <= raftSnapshotBytesMax, 'a chunk fits in a snapshot');
