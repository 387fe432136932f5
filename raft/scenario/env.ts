// The scenario world: real RaftNodes over MemoryStorage, a message queue per recipient that
// only moves when a script says so, and an output buffer compared against the script's
// expectation. Shell rules as in STYLE.md §1: persist (always synced here), send, apply, advance.
import { MemoryStorage, RaftError, RaftNode, nodeId, type Entry, type Message, type NodeId, type Ready } from '../core/index.js';
import { Prng } from '../sim/prng.js';

export interface ScenarioNode {
  readonly storage: MemoryStorage;
  raft: RaftNode | null;
  applied: number;
}

export class ScenarioEnv {
  readonly nodes = new Map<NodeId, ScenarioNode>();
  queue: Message[] = [];
  readonly cut = new Set<string>();
  output: string[] = [];
  electionTicks = 10;
  heartbeatTicks = 1;

  print(line: string): void {
    this.output.push(line);
  }

  node(id: number): ScenarioNode {
    const node = this.nodes.get(nodeId(id));
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: number): RaftNode {
    const raft = this.node(id).raft;
    if (!raft) throw new Error(`node ${id} is down`);
    return raft;
  }

  start(id: NodeId): void {
    const node = this.nodes.get(id)!;
    node.raft = new RaftNode(
      { id, electionTicks: this.electionTicks, heartbeatTicks: this.heartbeatTicks, random: new Prng(id), snapshotChunkBytes: 4 },
      node.storage,
    );
    node.applied = node.storage.snapshot().meta.index;
  }

  /** Runs a command that may fail with an operating error; prints the error instead of throwing. */
  attempt(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      this.print(`error: ${error.message}`);
    }
  }

  /** Handles every pending Ready of every live node; returns whether anything happened. */
  processReadies(): boolean {
    let any = false;
    for (const [id, node] of this.nodes) {
      while (node.raft?.hasReady()) {
        any = true;
        this.handleReady(id, node, node.raft.ready());
      }
    }
    return any;
  }

  private handleReady(id: NodeId, node: ScenarioNode, ready: Ready): void {
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    this.queue.push(...ready.messages);
    if (ready.snapshot) {
      node.applied = ready.snapshot.meta.index;
      this.print(`${id} restored snapshot ${ready.snapshot.meta.index}/${ready.snapshot.meta.term} data=${decode(ready.snapshot.data)}`);
    }
    for (const entry of ready.committedEntries) {
      node.applied = entry.index;
      this.print(`${id} applied ${describeEntry(entry)}`);
    }
    for (const state of ready.readStates) this.print(`${id} read-state index=${state.index} context=${state.context}`);
    node.raft!.advance(ready);
  }

  /** Delivers queued messages (to `only`, if given); returns how many were delivered. */
  deliver(only: NodeId | null): number {
    const taken = this.queue.filter((message) => only === null || message.to === only);
    this.queue = this.queue.filter((message) => !(only === null || message.to === only));
    for (const message of taken) {
      const target = this.nodes.get(message.to);
      if (this.cut.has(`${message.from}>${message.to}`) || !target?.raft) {
        this.print(`${describeMessage(message)} DROPPED`);
        continue;
      }
      this.print(describeMessage(message));
      target.raft.step(message);
    }
    return taken.length;
  }
}

const decoder = new TextDecoder();
export function decode(data: Uint8Array): string {
  return decoder.decode(data);
}

export function describeEntry(entry: Entry): string {
  const body = entry.type === 'config' ? `config ${decode(entry.data)}` : entry.data.length === 0 ? '(empty)' : decode(entry.data);
  return `${entry.index}/${entry.term} ${body}`;
}

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} t${message.term}`;
  switch (message.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=${message.lastLogIndex}/${message.lastLogTerm}${message.transfer ? ' transfer' : ''}`;
    case 'preVoteResp':
    case 'voteResp':
      return `${head} ${message.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${message.prevIndex}/${message.prevTerm} commit=${message.commit} entries=[${message.entries.map((e) => `${e.index}/${e.term}`).join(' ')}]`;
    case 'appendResp':
      return `${head} index=${message.index}${message.reject ? ` reject hint=${message.hintIndex}/${message.hintTerm}` : ''}`;
    case 'heartbeat':
      return `${head} commit=${message.commit}${message.context ? ` context=${message.context}` : ''}`;
    case 'heartbeatResp':
      return `${head}${message.context ? ` context=${message.context}` : ''}`;
    case 'snapshot':
      return `${head} snapshot=${message.meta.index}/${message.meta.term} offset=${message.offset} bytes=${message.chunk.length}/${message.totalBytes}`;
    case 'snapshotResp':
      return `${head} snapshot=${message.snapshotIndex} next=${message.nextOffset}`;
    case 'timeoutNow':
      return head;
  }
}
