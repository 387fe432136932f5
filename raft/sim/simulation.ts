// The simulated world (STYLE.md §9): one seed draws the cluster, the faults and the clients; the
// fault phase runs for a fixed number of ticks, then the heal phase (no loss, no partitions,
// everyone restarted) must converge within a tick budget. Invariants are checked on every step,
// the client history is checked for linearizability at the end.
import { RaftAssertionError, nodeId, type Message, type NodeId } from '../core/index.js';
import { checkKvHistory } from '../linearizability/index.js';
import { SimClient, type ClientWorld, type Operation } from './client.js';
import { injectFaults } from './faults.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { Network } from './network.js';
import { defaultRunLength, describeOptions, drawOptions, type RunLength, type SimOptions } from './options.js';
import { Prng } from './prng.js';
import { SimNode, type ClientReply, type ClientRequest, type NodeHooks } from './sim-node.js';

export type FailureKind = 'crash' | 'liveness' | 'correctness';

export interface SimResult {
  readonly seed: number;
  readonly options: SimOptions;
  readonly failure: { readonly kind: FailureKind; readonly message: string } | null;
  readonly ticks: number;
  readonly committed: number;
  readonly operations: number;
  readonly pending: number;
  readonly replay: string;
  readonly log: readonly string[];
}

type Payload =
  | { readonly kind: 'raft'; readonly message: Message }
  | { readonly kind: 'request'; readonly request: ClientRequest }
  | { readonly kind: 'reply'; readonly reply: ClientReply };

const clientAddressBase = 1000;
const logLinesMax = 400;

export class World {
  readonly prng: Prng;
  readonly network: Network<Payload>;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly clients: SimClient[] = [];
  readonly history: Operation[] = [];
  readonly checker = new InvariantChecker();
  readonly lines: string[] = [];
  now = 0;
  healing = false;
  private eventTime = 0;
  readonly hooks: NodeHooks;

  constructor(readonly options: SimOptions, prng: Prng) {
    this.prng = prng;
    this.network = new Network<Payload>(prng.fork());
    this.network.faults = {
      lossProbability: options.lossProbability, duplicateProbability: options.duplicateProbability,
      delayTicksMin: 1, delayTicksMax: options.delayTicksMax,
    };
    this.hooks = {
      send: (message) => this.network.send(message.from, message.to, { kind: 'raft', message }, this.now, !this.healing),
      reply: (from, reply) => this.network.send(from, clientAddressBase + reply.client, { kind: 'reply', reply }, this.now, !this.healing),
      persisted: (node, entries) => this.checker.persisted(node, entries),
      applied: (node, entry) => this.checker.applied(node, entry),
    };
    const voters = Array.from({ length: options.clusterSize }, (_, k) => nodeId(k + 1));
    for (const id of voters) this.addNode(id, { voters, learners: [] });
    for (let k = 0; k < options.clients; k++) this.clients.push(new SimClient(k + 1, this.history));
  }

  log(line: string): void {
    if (this.lines.length >= logLinesMax) this.lines.shift();
    this.lines.push(`[${this.now}] ${line}`);
  }

  private addNode(id: NodeId, membership: { voters: NodeId[]; learners: NodeId[] }): void {
    const node = new SimNode(id, membership, {
      electionTicks: this.options.electionTicks, heartbeatTicks: this.options.heartbeatTicks,
      snapshotChunkBytes: this.options.snapshotChunkBytes, compactEvery: this.options.compactEvery,
    });
    node.start(this.prng.fork());
    this.nodes.set(id, node);
  }

  /** A node joining by a membership change starts empty and learns everything from the leader. */
  ensureNode(id: NodeId): void {
    if (!this.nodes.has(id)) this.addNode(id, { voters: [], learners: [] });
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.alive());
  }

  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const node of this.liveNodes()) {
      const status = node.raft!.status();
      if (status.role === 'leader' && (!best || status.term > best.raft!.status().term)) best = node;
    }
    return best;
  }

  nextEventTime(): number {
    return ++this.eventTime;
  }

  private clientWorld(): ClientWorld {
    return {
      prng: this.prng, now: this.now, healing: this.healing,
      nodes: () => [...this.nodes.keys()],
      nextEventTime: () => this.nextEventTime(),
      send: (client, to, request) => this.network.send(clientAddressBase + client, to, { kind: 'request', request }, this.now, !this.healing),
    };
  }

  private deliver(to: number, payload: Payload): void {
    if (payload.kind === 'reply') return this.clients[payload.reply.client - 1].onReply(payload.reply, this.clientWorld());
    const node = this.nodes.get(nodeId(to));
    if (!node?.raft) return;
    if (node.pausedUntil > this.now) return this.network.defer(payload.kind === 'raft' ? payload.message.from : clientAddressBase + payload.request.client, to, payload, this.now);
    if (payload.kind === 'raft') node.raft.step(payload.message);
    else node.handleRequest(payload.request, this.hooks);
    this.checker.afterStep(node);
    node.processReady(this.hooks);
  }

  private startHeal(): void {
    this.healing = true;
    this.log('heal phase: network healed, all nodes restarted');
    this.network.healAll();
    for (const node of this.nodes.values()) node.pausedUntil = 0;
    for (const node of this.nodes.values()) if (!node.alive()) node.start(this.prng.fork());
  }

  /** One tick of virtual time. */
  step(): void {
    this.now++;
    if (!this.healing && this.now > this.options.faultTicks) this.startHeal();
    if (!this.healing) injectFaults(this);
    for (const node of this.liveNodes()) {
      if (node.pausedUntil > this.now) continue;
      // Clocks drift: a node may miss a tick or run two, so no timeout is a reliable lease.
      const skewed = !this.healing && this.prng.chance(this.options.clockSkewProbability);
      const ticks = skewed ? this.prng.pick([0, 2]) : 1;
      for (let k = 0; k < ticks; k++) {
        node.raft!.tick();
        this.checker.afterStep(node);
      }
      node.processReady(this.hooks);
    }
    for (const packet of this.network.takeDue(this.now)) this.deliver(packet.to, packet.payload);
    const world = this.clientWorld();
    for (const client of this.clients) client.tick(world);
  }

  converged(): boolean {
    const leader = this.leader();
    if (!leader || !this.clients.every((client) => client.idle() && client.healOperationsLeft === 0)) return false;
    const status = leader.raft!.status();
    if (status.commit !== status.lastIndex) return false;
    return [...status.membership.voters, ...status.membership.learners].every((id) => {
      const node = this.nodes.get(id);
      return node !== undefined && node.alive() && node.appliedIndex === status.commit;
    });
  }
}

export function runSimulation(seed: number, length: RunLength = defaultRunLength): SimResult {
  const prng = new Prng(seed);
  const options = drawOptions(seed, prng, length);
  const world = new World(options, prng);
  world.log(`seed ${seed}: ${describeOptions(options)}`);
  let failure: SimResult['failure'] = null;
  try {
    while (!(world.healing && world.converged()) && world.now < options.faultTicks + options.healTicksMax) world.step();
    failure = finish(world);
  } catch (error) {
    const kind: FailureKind = error instanceof InvariantViolation ? 'correctness' : 'crash';
    const detail = error instanceof RaftAssertionError || error instanceof InvariantViolation ? error.message : String((error as Error).stack ?? error);
    failure = { kind, message: detail };
  }
  return {
    seed, options, failure, ticks: world.now, committed: world.checker.committedCount(),
    operations: world.history.length, pending: world.history.filter((operation) => operation.response === null).length,
    replay: `npm run sim -- --seed=${seed}`, log: world.lines,
  };
}

function finish(world: World): SimResult['failure'] {
  if (!world.converged()) {
    const statuses = world.liveNodes().map((node) => {
      const status = node.raft!.status();
      return `${node.id}:${status.role}/t${status.term}/c${status.commit}/a${node.appliedIndex}/l${status.lastIndex}`;
    });
    return { kind: 'liveness', message: `no convergence after ${world.now} ticks: ${statuses.join(' ')}` };
  }
  const leader = world.leader()!;
  world.checker.finalCheck(leader);
  const membership = leader.raft!.status().membership;
  const fingerprint = leader.kv.fingerprint();
  for (const id of [...membership.voters, ...membership.learners]) {
    const node = world.nodes.get(id)!;
    if (node.kv.fingerprint() !== fingerprint) {
      return { kind: 'correctness', message: `replica ${id} state differs from leader ${leader.id}` };
    }
  }
  const verdict = checkKvHistory(world.history);
  if (!verdict.ok) return { kind: 'correctness', message: `history not linearizable: ${verdict.detail}` };
  return null;
}
