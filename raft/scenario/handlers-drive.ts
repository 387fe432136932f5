// Scenario commands that drive nodes and inspect them: campaign, tick, propose, read-index,
// transfer, add-learner, add-voter, remove, compact, deliver, stabilize, drop, status, log.
import { logIndex, nodeId } from '../core/index.js';
import { describeEntry, type ScenarioEnv } from './env.js';
import type { Handler } from './handlers-cluster.js';

const encoder = new TextEncoder();
const stabilizeRoundsMax = 100;

export const driveHandlers: Record<string, Handler> = {
  campaign: (env, [id]) => env.raft(Number(id)).campaign(),
  /** tick 1 2 n=5: ticks each listed node n times (default 1). */
  tick: (env, args) => {
    const count = Number(args.find((arg) => arg.startsWith('n='))?.slice(2) ?? 1);
    for (const id of args.filter((arg) => /^\d+$/.test(arg))) {
      for (let k = 0; k < count; k++) env.raft(Number(id)).tick();
    }
  },
  propose: (env, [id, ...data]) => env.attempt(() => void env.raft(Number(id)).propose(encoder.encode(data.join(' ')))),
  'read-index': (env, [id, context]) => env.attempt(() => env.raft(Number(id)).readIndex(context)),
  transfer: (env, [id, target]) => env.attempt(() => env.raft(Number(id)).transferLeadership(nodeId(Number(target)))),
  'add-learner': (env, [id, node]) => env.attempt(() => void env.raft(Number(id)).proposeMembership({ type: 'addLearner', node: nodeId(Number(node)) })),
  'add-voter': (env, [id, node]) => env.attempt(() => void env.raft(Number(id)).proposeMembership({ type: 'addVoter', node: nodeId(Number(node)) })),
  remove: (env, [id, node]) => env.attempt(() => void env.raft(Number(id)).proposeMembership({ type: 'remove', node: nodeId(Number(node)) })),
  /** compact 1: the application snapshots node 1 at its applied index. */
  compact: (env, [id]) => {
    const node = env.node(Number(id));
    const snapshot = env.raft(Number(id)).compact(logIndex(node.applied), encoder.encode(`state@${node.applied}`));
    node.storage.compact(snapshot);
    env.print(`${id} compacted to ${snapshot.meta.index}/${snapshot.meta.term}`);
  },
  /** deliver [id]: one round, the messages queued now (for one recipient, if given). */
  deliver: (env, [id]) => {
    env.processReadies();
    env.deliver(id === undefined ? null : nodeId(Number(id)));
  },
  stabilize: (env) => {
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      const readies = env.processReadies();
      if (env.deliver(null) === 0 && !readies) return;
    }
    env.print(`not stable after ${stabilizeRoundsMax} rounds`);
  },
  drop: (env, [id]) => {
    env.processReadies();
    env.queue = env.queue.filter((message) => message.to !== Number(id));
  },
  status: (env) => {
    for (const [id, node] of env.nodes) {
      if (!node.raft) {
        env.print(`${id}: down`);
        continue;
      }
      const status = node.raft.status();
      const members = `voters=${status.membership.voters.join(',')}${status.membership.learners.length > 0 ? ` learners=${status.membership.learners.join(',')}` : ''}`;
      env.print(`${id}: ${status.role} term=${status.term} leader=${status.leader ?? '-'} commit=${status.commit} last=${status.lastIndex} ${members}`);
    }
  },
  log: (env, [id]) => {
    const raft = env.raft(Number(id));
    const entries: string[] = [];
    for (let index = raft.snapshotIndex() + 1; index <= raft.status().lastIndex; index++) entries.push(describeEntry(raft.entryAt(index)!));
    env.print(`${id} log after snapshot ${raft.snapshotIndex()}: ${entries.join(', ') || '(none)'}`);
  },
};
