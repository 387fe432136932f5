// The raft core's public surface. Other layers import raft only through index files.
export { assert, isRaftError, RaftAssertionError, RaftError, type RaftErrorCode } from './assert.js';
export * from './limits.js';
export { applyChange, decodeMembership, emptyMembership, encodeMembership, isVoter, type MembershipChange } from './membership.js';
export { MemoryStorage } from './memory-storage.js';
export { StoredLog } from './stored-log.js';
export { RaftNode, type Ready, type Status } from './node.js';
export type { RaftConfig } from './raft.js';
export { bootstrapSnapshot, type Storage, type WritableStorage } from './storage.js';
export * from './types.js';
