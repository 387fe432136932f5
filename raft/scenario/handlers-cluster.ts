// Scenario commands that shape the cluster: add-nodes, add-node, crash, restart, partition, cut, heal.
import { MemoryStorage, nodeId } from '../core/index.js';
import type { ScenarioEnv } from './env.js';

export type Handler = (env: ScenarioEnv, args: string[]) => void;

const ids = (args: string[]) => args.filter((arg) => /^\d+$/.test(arg)).map(Number);

export const clusterHandlers: Record<string, Handler> = {
  /** add-nodes 1 2 3: voters bootstrapped with that membership. */
  'add-nodes': (env, args) => {
    const voters = ids(args).map(nodeId);
    for (const id of voters) {
      env.nodes.set(id, { storage: new MemoryStorage({ voters, learners: [] }), raft: null, applied: 0 });
      env.start(id);
    }
    env.print(`voters ${voters.join(' ')}`);
  },
  /** add-node 4: a joiner with no membership; it learns everything from the leader. */
  'add-node': (env, args) => {
    for (const id of ids(args).map(nodeId)) {
      env.nodes.set(id, { storage: new MemoryStorage(), raft: null, applied: 0 });
      env.start(id);
    }
  },
  crash: (env, args) => {
    for (const id of ids(args)) env.node(id).raft = null;
  },
  restart: (env, args) => {
    for (const id of ids(args)) env.start(nodeId(id));
  },
  /** partition 1 | 2 3: cuts every link across the bar, both ways. */
  partition: (env, args) => {
    const bar = args.indexOf('|');
    const left = ids(args.slice(0, bar));
    const right = ids(args.slice(bar + 1));
    for (const a of left) for (const b of right) {
      env.cut.add(`${a}>${b}`);
      env.cut.add(`${b}>${a}`);
    }
  },
  /** cut 1 2: one-way, 1 can no longer reach 2. */
  cut: (env, args) => {
    const [from, to] = ids(args);
    env.cut.add(`${from}>${to}`);
  },
  heal: (env) => {
    env.cut.clear();
  },
};
