// The simulated network: every packet gets a delay drawn from the world's PRNG, may be lost or
// duplicated, and is dropped when its directed link is cut (so partitions can be one-way).
// Reordering falls out of independent delays plus a random tie-break within a tick.
import type { Prng } from './prng.js';

export interface NetworkFaults {
  lossProbability: number;
  duplicateProbability: number;
  delayTicksMin: number;
  delayTicksMax: number;
}

interface Packet<T> {
  readonly from: number;
  readonly to: number;
  readonly payload: T;
  readonly deliverAt: number;
  readonly order: number;
}

/** Packets in flight are bounded: a world that queues more has a runaway sender (a bug). */
export const networkPacketsMax = 200_000;

export class Network<T> {
  private packets: Packet<T>[] = [];
  private readonly blocked = new Set<string>();
  faults: NetworkFaults = { lossProbability: 0, duplicateProbability: 0, delayTicksMin: 1, delayTicksMax: 1 };

  constructor(private readonly prng: Prng) {}

  send(from: number, to: number, payload: T, now: number, faulty: boolean): void {
    if (this.blocked.has(`${from}>${to}`)) return;
    if (faulty && this.prng.chance(this.faults.lossProbability)) return;
    this.enqueue(from, to, payload, now);
    if (faulty && this.prng.chance(this.faults.duplicateProbability)) this.enqueue(from, to, payload, now);
  }

  private enqueue(from: number, to: number, payload: T, now: number): void {
    if (this.packets.length >= networkPacketsMax) throw new Error(`network holds ${this.packets.length} packets`);
    const delay = this.prng.between(this.faults.delayTicksMin, this.faults.delayTicksMax);
    this.packets.push({ from, to, payload, deliverAt: now + delay, order: this.prng.nextU32() });
  }

  /** Holds a packet for a paused receiver until the next tick (no loss: the bytes are buffered). */
  defer(from: number, to: number, payload: T, now: number): void {
    this.packets.push({ from, to, payload, deliverAt: now + 1, order: this.prng.nextU32() });
  }

  /** Packets due at `now`, in a seeded random order; a link cut while in flight drops them too. */
  takeDue(now: number): { from: number; to: number; payload: T }[] {
    const due: Packet<T>[] = [];
    const later: Packet<T>[] = [];
    for (const packet of this.packets) (packet.deliverAt <= now ? due : later).push(packet);
    this.packets = later;
    due.sort((left, right) => left.deliverAt - right.deliverAt || left.order - right.order);
    return due.filter((packet) => !this.blocked.has(`${packet.from}>${packet.to}`));
  }

  cut(from: number, to: number): void {
    this.blocked.add(`${from}>${to}`);
  }

  healAll(): void {
    this.blocked.clear();
  }

  cutCount(): number {
    return this.blocked.size;
  }
}
