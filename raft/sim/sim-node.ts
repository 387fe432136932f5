// One simulated server: a RaftNode, its "disk" (a MemoryStorage holding only synced writes plus
// a buffer of unsynced ones that a crash loses), the KV state machine, and the client requests it
// is waiting to answer. The Ready loop follows STYLE.md §1: persist, send, apply, advance.
import { MemoryStorage, RaftError, RaftNode, emptyMembership } from '../core/index.js';
import type { Entry, LogIndex, Membership, Message, NodeId, Ready } from '../core/index.js';
import { KvStore, decodeCommand, encodeCommand, type KvInput, type KvOutput } from './kv.js';
import type { Prng } from './prng.js';

export interface ClientRequest {
  readonly client: number;
  readonly seq: number;
  readonly input: KvInput;
}

export interface ClientReply {
  readonly client: number;
  readonly seq: number;
  readonly output: KvOutput | null;
  readonly error: string | null;
  readonly leaderHint: NodeId | null;
}

export interface NodeHooks {
  send(message: Message): void;
  reply(from: NodeId, reply: ClientReply): void;
  persisted(node: SimNode, entries: readonly Entry[]): void;
  applied(node: SimNode, entry: Entry): void;
}

export interface NodeSettings {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotChunkBytes: number;
  readonly compactEvery: number;
}

export class SimNode {
  readonly disk: MemoryStorage;
  private unsynced: ((disk: MemoryStorage) => void)[] = [];
  raft: RaftNode | null = null;
  kv = new KvStore();
  appliedIndex = 0;
  /** A paused process neither ticks nor reads its sockets until this tick. */
  pausedUntil = 0;
  /** Set when a Ready changed term or vote: the moment a crash tests what was really synced. */
  votedRecently = false;
  private writeWaiters = new Map<number, number>();
  private readWaiters = new Map<string, ClientRequest>();
  private confirmedReads: { index: number; request: ClientRequest }[] = [];
  private readCounter = 0;
  private lastVote: NodeId | null = null;

  constructor(readonly id: NodeId, membership: Membership, private readonly settings: NodeSettings) {
    this.disk = new MemoryStorage(membership ?? emptyMembership);
  }

  alive(): boolean {
    return this.raft !== null;
  }

  /** Boots from what the disk holds: the snapshot's state, then the log replays from it. */
  start(prng: Prng): void {
    const snapshot = this.disk.snapshot();
    this.raft = new RaftNode(
      {
        id: this.id, electionTicks: this.settings.electionTicks, heartbeatTicks: this.settings.heartbeatTicks,
        random: prng, snapshotChunkBytes: this.settings.snapshotChunkBytes, applied: snapshot.meta.index,
      },
      this.disk,
    );
    this.kv = KvStore.decode(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
  }

  /** kill -9: memory and unsynced writes are gone; the synced disk survives. */
  crash(): void {
    this.raft = null;
    this.unsynced = [];
    this.writeWaiters.clear();
    this.readWaiters.clear();
    this.confirmedReads = [];
  }

  handleRequest(request: ClientRequest, hooks: NodeHooks): void {
    const raft = this.raft;
    if (!raft) return;
    const fail = (error: unknown) => {
      if (!(error instanceof RaftError)) throw error;
      hooks.reply(this.id, { client: request.client, seq: request.seq, output: null, error: error.code, leaderHint: error.leader as NodeId | null });
    };
    try {
      if (request.input.op === 'get') {
        const context = `${this.id}/${request.client}/${request.seq}/${this.readCounter++}`;
        raft.readIndex(context);
        this.readWaiters.set(context, request);
      } else {
        this.writeWaiters.set(request.client, request.seq);
        raft.propose(encodeCommand(request));
      }
    } catch (error) {
      fail(error);
    }
  }

  processReady(hooks: NodeHooks): void {
    for (let rounds = 0; this.raft && this.raft.hasReady(); rounds++) {
      if (rounds > 1000) throw new Error(`node ${this.id} never runs out of Ready`);
      const ready = this.raft.ready();
      this.persist(ready, hooks);
      for (const message of ready.messages) hooks.send(message);
      this.apply(ready, hooks);
      this.raft.advance(ready);
      this.maybeCompact();
    }
  }

  private persist(ready: Ready, hooks: NodeHooks): void {
    const write = (disk: MemoryStorage) => {
      if (ready.snapshot) disk.applySnapshot(ready.snapshot);
      if (ready.entries.length > 0) disk.append(ready.entries);
      if (ready.hardState) disk.setHardState(ready.hardState);
    };
    if (ready.hardState && ready.hardState.vote !== null && ready.hardState.vote !== this.lastVote) this.votedRecently = true;
    if (ready.hardState) this.lastVote = ready.hardState.vote;
    this.unsynced.push(write);
    if (ready.mustSync) {
      for (const pending of this.unsynced) pending(this.disk);
      this.unsynced = [];
    }
    if (ready.entries.length > 0) hooks.persisted(this, ready.entries);
  }

  private apply(ready: Ready, hooks: NodeHooks): void {
    if (ready.snapshot) {
      this.kv = KvStore.decode(ready.snapshot.data);
      this.appliedIndex = ready.snapshot.meta.index;
    }
    for (const entry of ready.committedEntries) {
      if (entry.index !== this.appliedIndex + 1) throw new Error(`node ${this.id} applies ${entry.index} after ${this.appliedIndex}`);
      this.appliedIndex = entry.index;
      hooks.applied(this, entry);
      if (entry.type !== 'normal' || entry.data.length === 0) continue;
      const command = decodeCommand(entry.data);
      const output = this.kv.apply(command);
      if (output !== null && this.writeWaiters.get(command.client) === command.seq) {
        this.writeWaiters.delete(command.client);
        hooks.reply(this.id, { client: command.client, seq: command.seq, output, error: null, leaderHint: null });
      }
    }
    for (const state of ready.readStates) {
      const request = this.readWaiters.get(state.context);
      if (!request) continue;
      this.readWaiters.delete(state.context);
      this.confirmedReads.push({ index: state.index, request });
    }
    // Thesis §6.4 step 4: serve once the state machine has reached the read index.
    this.confirmedReads = this.confirmedReads.filter(({ index, request }) => {
      if (index > this.appliedIndex) return true;
      const output: KvOutput = { ok: true, value: this.kv.get(request.input.key) };
      hooks.reply(this.id, { client: request.client, seq: request.seq, output, error: null, leaderHint: null });
      return false;
    });
  }

  private maybeCompact(): void {
    const raft = this.raft!;
    if (this.appliedIndex - raft.snapshotIndex() < this.settings.compactEvery) return;
    const snapshot = raft.compact(this.appliedIndex as LogIndex, this.kv.encode());
    for (const pending of this.unsynced) pending(this.disk);
    this.unsynced = [];
    this.disk.compact(snapshot);
  }
}
