// ConfigNode: the node shell that drives the pure raft core (STYLE.md §1). Ticks come from a
// timer; each Ready is handled in the order its contract demands: persist (fsync when mustSync)
// BEFORE sending, so no vote or acknowledgement leaves the node before it is durable (Raft paper
// Figure 2, "respond after persisting"); then send, apply, serve reads, advance. The state
// machine lives in memory and is rebuilt on start from the snapshot plus the log.
import { randomInt } from 'node:crypto';
import { RaftError, RaftNode, assert, logIndex, type Membership, type NodeId, type Ready, type Role, type Status } from '../core/index.js';
import { FileStorage } from '../storage/file-storage.js';
import { TcpTransport, type PeerAddress } from '../transport/index.js';
import { encodeCommand, validateOperation, validateRequestId, type Operation } from './command.js';
import { ConfigError } from './errors.js';
import { LeaseClock } from './lease-clock.js';
import { configWatchersMax } from './limits.js';
import { decodeState, encodeState } from './state-snapshot.js';
import { decodeCommand } from './command.js';
import { ConfigStateMachine, type CommandResult } from './state-machine.js';
import { Waiters } from './waiters.js';

export interface ConfigNodeOptions {
  readonly id: NodeId;
  /** Raft addresses of every voter, this node included. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly dataDir: string;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** How long a request may wait for commit or a read point before answering Timeout. */
  readonly requestTimeoutMs?: number;
  /** Applied entries between snapshots (log compaction, thesis §5.1). */
  readonly compactEvery?: number;
  readonly log?: (line: string) => void;
}

const leaseExpiriesPerTickMax = 64;

export class ConfigNode {
  readonly id: NodeId;
  machine: ConfigStateMachine;
  private readonly raft: RaftNode;
  private transport: TcpTransport | null = null;
  private readonly writes = new Waiters<CommandResult>();
  private readonly readPoints = new Waiters<number>();
  private confirmedReads: { index: number; release: () => void }[] = [];
  private readonly applyListeners = new Set<() => void>();
  private readonly leases = new LeaseClock();
  private appliedIndex: number;
  private readCounter = 0;
  private anonymousSeq = 0;
  private role: Role = 'follower';
  private drainScheduled = false;
  private ticker: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Counters for /status: how well group commit batches (entries per fsync) and its cost. */
  readonly counters = { readys: 0, syncs: 0, syncMs: 0, entriesPersisted: 0, entriesApplied: 0, snapshotsInstalled: 0 };

  constructor(private readonly options: ConfigNodeOptions, private readonly storage: FileStorage) {
    this.id = options.id;
    const snapshot = storage.snapshot();
    this.machine = decodeState(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
    this.raft = new RaftNode({
      id: options.id, electionTicks: options.electionTicks ?? 10, heartbeatTicks: options.heartbeatTicks ?? 2,
      random: { nextBelow: (bound) => randomInt(bound) }, applied: snapshot.meta.index,
    }, storage);
  }

  /** Opens storage, recovers, binds the raft port and starts ticking. */
  static async start(options: ConfigNodeOptions): Promise<ConfigNode> {
    const membership: Membership = { voters: [...options.peers.keys()].sort((a, b) => a - b), learners: [] };
    assert(membership.voters.includes(options.id), `node ${options.id} is not among the peers`);
    assert(options.compactEvery === undefined || options.compactEvery >= 1, 'compactEvery must be at least 1');
    const node = new ConfigNode(options, new FileStorage(options.dataDir, membership));
    const own = options.peers.get(options.id)!;
    const others = new Map([...options.peers].filter(([id]) => id !== options.id));
    node.transport = await TcpTransport.start({
      id: options.id, listen: own, peers: others,
      onMessage: (message) => { if (!node.stopped) { node.raft.step(message); node.scheduleDrain(); } },
    });
    node.ticker = setInterval(() => node.tick(), options.tickMs ?? 25);
    node.scheduleDrain();
    return node;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.writes.rejectAll(new ConfigError('Unavailable', 'node stopping'));
    this.readPoints.rejectAll(new ConfigError('Unavailable', 'node stopping'));
    await this.transport?.close();
    this.storage.close();
  }

  status(): Status & { revision: number; counters: ConfigNode['counters'] } {
    return { ...this.raft.status(), revision: this.machine.revision, counters: this.counters };
  }

  /** Proposes a command and resolves with its result once this node applies it. */
  async submit(client: string, seq: number, operation: Operation): Promise<CommandResult> {
    validateRequestId(client, seq);
    validateOperation(operation);
    const key = `${client}/${seq}`;
    // A retry of a request still in flight joins it rather than proposing twice.
    if (!this.writes.has(key)) this.propose(encodeCommand({ version: 1, client, seq, operation }));
    return this.writes.wait(key, this.timeoutMs());
  }

  /** Serves `read` at a linearizable point (thesis §6.4): ReadIndex, then wait to apply it. */
  async read<T>(read: (machine: ConfigStateMachine) => T): Promise<T> {
    const context = `${this.id}/${this.readCounter++}`;
    this.guard(() => this.raft.readIndex(context));
    this.scheduleDrain();
    const index = await this.readPoints.wait(context, this.timeoutMs());
    if (index > this.appliedIndex) {
      await new Promise<void>((release) => this.confirmedReads.push({ index, release }));
    }
    return read(this.machine);
  }

  /** Request ids for writes that came without one (not deduplicated across retries). */
  nextAnonymousSeq(): number {
    return ++this.anonymousSeq;
  }

  /** Leader only: a keep-alive restarts the lease's TTL (its deadline is leader memory). */
  keepAlive(lease: number): { lease: number; ttlMs: number } {
    if (this.raft.status().role !== 'leader') throw new ConfigError('NotLeader', `node ${this.id} is not the leader`, this.raft.status().leader);
    const found = this.machine.leases.get(lease);
    if (!found) throw new ConfigError('LeaseNotFound', `lease ${lease}`);
    this.leases.refresh(lease, found.ttlMs, performance.now());
    return { lease, ttlMs: found.ttlMs };
  }

  /** Resolves at the next apply (or after waitMs); for long-poll watches. */
  nextApply(waitMs: number): Promise<void> {
    if (this.applyListeners.size >= configWatchersMax) return Promise.reject(new ConfigError('Unavailable', 'too many watches open'));
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.applyListeners.delete(done); resolve(); }, Math.max(1, Math.ceil(waitMs)));
      const done = () => { clearTimeout(timer); this.applyListeners.delete(done); resolve(); };
      this.applyListeners.add(done);
    });
  }

  private propose(data: Uint8Array): void {
    this.guard(() => this.raft.propose(data));
    this.scheduleDrain();
  }

  /** Maps the core's operating errors to the service's (thesis §6.2: redirect to the leader). */
  private guard(call: () => void): void {
    try {
      call();
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      if (error.code === 'NotLeader') throw new ConfigError('NotLeader', error.message, error.leader);
      if (error.code === 'EntryTooLarge') throw new ConfigError('InvalidRequest', error.message);
      throw new ConfigError('Unavailable', error.message, error.leader);
    }
  }

  private timeoutMs(): number {
    return this.options.requestTimeoutMs ?? 3_000;
  }

  private tick(): void {
    if (this.stopped) return;
    this.raft.tick();
    if (this.role === 'leader') this.expireLeases();
    this.scheduleDrain();
  }

  private expireLeases(): void {
    for (const lease of this.leases.due(performance.now(), leaseExpiriesPerTickMax)) {
      try {
        this.propose(encodeCommand({ version: 1, client: '', seq: 0, operation: { op: 'leaseExpire', lease } }));
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        this.leases.retry(lease);
      }
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    // setImmediate runs after this turn's I/O callbacks: every message and proposal that arrived
    // together lands in one Ready, so one fsync covers them all (group commit, thesis §10.2.1).
    setImmediate(() => {
      this.drainScheduled = false;
      if (!this.stopped) this.drain();
    });
  }

  private drain(): void {
    for (let rounds = 0; this.raft.hasReady(); rounds++) {
      assert(rounds < 10_000, `node ${this.id} never runs out of Ready`);
      const ready = this.raft.ready();
      this.persist(ready);
      for (const message of ready.messages) this.transport!.send(message);
      this.apply(ready);
      this.raft.advance(ready);
      this.maybeCompact();
    }
    this.noticeRole();
  }

  private persist(ready: Ready): void {
    if (ready.snapshot) {
      this.storage.applySnapshot(ready.snapshot);
      this.counters.snapshotsInstalled++;
    }
    if (ready.entries.length > 0) this.storage.append(ready.entries);
    if (ready.hardState) this.storage.setHardState(ready.hardState);
    this.counters.readys++;
    this.counters.entriesPersisted += ready.entries.length;
    if (!ready.mustSync) return;
    const started = performance.now();
    this.storage.sync();
    this.counters.syncs++;
    this.counters.syncMs += performance.now() - started;
  }

  private apply(ready: Ready): void {
    if (ready.snapshot) {
      this.machine = decodeState(ready.snapshot.data);
      this.appliedIndex = ready.snapshot.meta.index;
    }
    for (const entry of ready.committedEntries) {
      assert(entry.index === this.appliedIndex + 1, `node ${this.id} applies ${entry.index} after ${this.appliedIndex}`);
      this.appliedIndex = entry.index;
      this.counters.entriesApplied++;
      if (entry.type !== 'normal' || entry.data.length === 0) continue;
      const command = decodeCommand(entry.data);
      const result = this.machine.apply(command);
      this.trackLease(command.operation, result);
      if (command.client !== '') this.writes.resolve(`${command.client}/${command.seq}`, result);
    }
    for (const state of ready.readStates) this.readPoints.resolve(state.context, state.index);
    this.confirmedReads = this.confirmedReads.filter(({ index, release }) => {
      if (index > this.appliedIndex) return true;
      release();
      return false;
    });
    if (ready.committedEntries.length > 0 || ready.snapshot) for (const listener of [...this.applyListeners]) listener();
  }

  private trackLease(operation: Operation, result: CommandResult): void {
    if (operation.op === 'leaseGrant' && result.ok) this.leases.refresh(result.lease!, operation.ttlMs, performance.now());
    if ((operation.op === 'leaseRevoke' || operation.op === 'leaseExpire') && result.lease !== null) this.leases.forget(result.lease);
    if (operation.op === 'leaseExpire' && !result.ok) this.leases.forget(operation.lease);
  }

  /** On a role change: a new leader restarts every lease's TTL; a former one fails its waiters. */
  private noticeRole(): void {
    const role = this.raft.status().role;
    if (role === this.role) return;
    const wasLeader = this.role === 'leader';
    this.role = role;
    this.leases.resetProposals();
    if (role === 'leader') {
      for (const lease of this.machine.leases.values()) this.leases.refresh(lease.id, lease.ttlMs, performance.now());
      this.options.log?.(`node ${this.id} leads term ${this.raft.status().term}`);
    } else if (wasLeader) {
      const leader = this.raft.status().leader;
      this.writes.rejectAll(new ConfigError('NotLeader', `node ${this.id} stopped leading`, leader));
      this.readPoints.rejectAll(new ConfigError('NotLeader', `node ${this.id} stopped leading`, leader));
    }
  }

  private maybeCompact(): void {
    const every = this.options.compactEvery ?? 10_000;
    if (this.appliedIndex - this.raft.snapshotIndex() < every) return;
    const snapshot = this.raft.compact(logIndex(this.appliedIndex), encodeState(this.machine));
    this.storage.compact(snapshot);
  }
}
