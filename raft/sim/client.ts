// A simulated client: one operation at a time, sent to the node it believes leads; on silence it
// retries the same request id elsewhere (so a write lands at most once), and in the fault phase
// it eventually gives up, leaving the operation pending (outcome unknown) in the history.
import type { KvInput, KvOutput } from './kv.js';
import type { Prng } from './prng.js';
import type { ClientReply, ClientRequest } from './sim-node.js';

export interface Operation {
  readonly client: number;
  readonly input: KvInput;
  readonly invoke: number;
  /** null while pending; a pending operation may or may not have taken effect. */
  response: number | null;
  output: KvOutput | null;
}

export interface ClientWorld {
  readonly prng: Prng;
  readonly now: number;
  readonly healing: boolean;
  nodes(): number[];
  /** A logical clock shared by all history events: strictly increasing. */
  nextEventTime(): number;
  send(client: number, to: number, request: ClientRequest): void;
}

const retryTicks = 12;
// Long enough that giving up (a pending operation) is rare: each one widens the checker's search.
const attemptsMax = 20;
const keys = ['a', 'b', 'c'];

export class SimClient {
  private seq = 0;
  private current: { request: ClientRequest; operation: Operation; attempts: number; retryAt: number; hinted: boolean } | null = null;
  private leaderGuess: number | null = null;
  /** Operations still to issue once healing starts; each must complete for the run to converge. */
  healOperationsLeft = 1;

  constructor(readonly id: number, private readonly history: Operation[]) {}

  idle(): boolean {
    return this.current === null;
  }

  tick(world: ClientWorld): void {
    if (this.current) {
      if (world.now < this.current.retryAt) return;
      if (!world.healing && this.current.attempts >= attemptsMax) {
        this.current = null; // gives up: stays pending in the history
      } else {
        if (!this.current.hinted) this.leaderGuess = null; // silence: the guess was wrong
        return this.transmit(world);
      }
    }
    if (world.healing ? this.healOperationsLeft > 0 : world.prng.chance(0.5)) this.begin(world);
  }

  private begin(world: ClientWorld): void {
    if (world.healing) this.healOperationsLeft--;
    this.seq++;
    const key = world.prng.pick(keys);
    const value = `${this.id}.${this.seq}`;
    const roll = world.prng.nextBelow(10);
    const input: KvInput =
      roll < 4 ? { op: 'get', key } :
      roll < 7 ? { op: 'put', key, value } :
      { op: 'cas', key, expected: world.prng.chance(0.5) ? null : `${world.prng.between(1, 4)}.${world.prng.between(1, this.seq)}`, value };
    const operation: Operation = { client: this.id, input, invoke: world.nextEventTime(), response: null, output: null };
    this.history.push(operation);
    this.current = { request: { client: this.id, seq: this.seq, input }, operation, attempts: 0, retryAt: 0, hinted: false };
    this.transmit(world);
  }

  private transmit(world: ClientWorld): void {
    const current = this.current!;
    const nodes = world.nodes();
    // Mostly the believed leader; sometimes anyone, so deposed leaders still see traffic.
    const useGuess = this.leaderGuess !== null && nodes.includes(this.leaderGuess) && !world.prng.chance(0.2);
    const target = useGuess ? this.leaderGuess! : world.prng.pick(nodes);
    current.attempts++;
    current.hinted = false;
    current.retryAt = world.now + retryTicks;
    world.send(this.id, target, current.request);
  }

  onReply(reply: ClientReply, world: ClientWorld): void {
    const current = this.current;
    if (!current || reply.seq !== current.request.seq) return;
    if (reply.error !== null) {
      this.leaderGuess = reply.leaderHint;
      current.hinted = true;
      current.retryAt = world.now + (reply.error === 'NotLeader' && reply.leaderHint !== null ? 0 : 3);
      return;
    }
    current.operation.response = world.nextEventTime();
    current.operation.output = reply.output;
    this.current = null;
  }
}
