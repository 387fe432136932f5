// Method: drive RaftNode directly through its public API and a tiny lossless message pump, and
// pin down rules the scenario scripts show only in passing: the Figure 8 commit rule (thesis
// §3.6.2), one config change at a time (§4.1), applying only persisted entries, and Ready
// bookkeeping (advance, mustSync).
import { describe, expect, it } from 'vitest';
import { isRaftError } from './assert.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftNode } from './node.js';
import { logIndex, nodeId, term, type Message, type NodeId } from './types.js';

const voters = [1, 2, 3].map(nodeId);
let seed = 1;
const random = { nextBelow: (bound: number) => (seed = (seed * 48271) % 0x7fffffff) % bound };

function cluster(ids: NodeId[] = voters) {
  const nodes = new Map<NodeId, { raft: RaftNode; storage: MemoryStorage }>();
  for (const id of ids) {
    const storage = new MemoryStorage({ voters: ids, learners: [] });
    nodes.set(id, { raft: new RaftNode({ id, electionTicks: 10, heartbeatTicks: 1, random }, storage), storage });
  }
  const pump = (filter: (message: Message) => boolean = () => true) => {
    for (let round = 0; round < 50; round++) {
      const messages: Message[] = [];
      for (const { raft, storage } of nodes.values()) {
        while (raft.hasReady()) {
          const ready = raft.ready();
          if (ready.entries.length > 0) storage.append(ready.entries);
          if (ready.hardState) storage.setHardState(ready.hardState);
          messages.push(...ready.messages);
          raft.advance(ready);
        }
      }
      const delivered = messages.filter(filter);
      if (delivered.length === 0) return;
      for (const message of delivered) nodes.get(message.to)?.raft.step(message);
    }
  };
  return { nodes, pump, raft: (id: number) => nodes.get(nodeId(id))!.raft };
}

describe('RaftNode', () => {
  it('elects a leader and commits its no-op on a quorum', () => {
    const { raft, pump } = cluster();
    raft(1).campaign();
    pump();
    expect(raft(1).status()).toMatchObject({ role: 'leader', term: 1, commit: 1 });
    expect(raft(2).status()).toMatchObject({ role: 'follower', leader: 1, commit: 1 });
  });

  it('commits by counting replicas only for an entry of the current term (Figure 8)', () => {
    const { raft, pump } = cluster();
    raft(1).campaign();
    pump();
    const leader = raft(1).internals;
    // Figure 8 (c): the leader of term 2 holds 2/1 from term 1, now on every replica.
    leader.log.append([{ term: term(1), index: logIndex(2), type: 'normal', data: new Uint8Array() }]);
    leader.term = term(2);
    for (const id of voters) leader.progress.get(id)!.match = logIndex(2);
    expect(leader.maybeCommit()).toBe(false); // 2/1 is on all three, but it is not of term 2
    leader.log.append([{ term: term(2), index: logIndex(3), type: 'normal', data: new Uint8Array() }]);
    leader.progress.get(nodeId(1))!.match = logIndex(3);
    leader.progress.get(nodeId(2))!.match = logIndex(3);
    expect(leader.maybeCommit()).toBe(true);
    expect(leader.log.committed).toBe(3);
  });

  it('refuses a second membership change while one is uncommitted', () => {
    const { raft, pump } = cluster();
    raft(1).campaign();
    pump();
    raft(1).proposeMembership({ type: 'addLearner', node: nodeId(4) });
    expect(() => raft(1).proposeMembership({ type: 'addVoter', node: nodeId(4) })).toThrow(/ConfigChangePending/);
    expect(raft(1).status().membership.learners).toEqual([4]); // in force on append (§4.1)
  });

  it('rejects proposals on a follower with a leader hint', () => {
    const { raft, pump } = cluster();
    raft(1).campaign();
    pump();
    try {
      raft(2).propose(new Uint8Array([1]));
      expect.unreachable();
    } catch (error) {
      expect(isRaftError(error, 'NotLeader')).toBe(true);
      expect((error as { leader: number }).leader).toBe(1);
    }
  });

  it('hands out committed entries only after they are persisted, and mustSync only for durable changes', () => {
    const storage = new MemoryStorage({ voters: [nodeId(1)], learners: [] });
    const node = new RaftNode({ id: nodeId(1), electionTicks: 10, heartbeatTicks: 1, random }, storage);
    node.campaign();
    const first = node.ready();
    expect(first.mustSync).toBe(true);
    expect(first.entries).toHaveLength(1);
    expect(first.committedEntries).toHaveLength(0); // committed only after our own fsync
    storage.append(first.entries);
    node.advance(first);
    const second = node.ready();
    expect(second.committedEntries.map((e) => e.index)).toEqual([1]);
    expect(second.mustSync).toBe(false); // only commit moved
    expect(() => node.ready()).toThrow(/without advance/);
  });
});
