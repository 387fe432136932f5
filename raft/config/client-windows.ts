// Exactly-once commands (Raft thesis §6.3): the state machine remembers, per client, the results
// of its most recent requests, keyed by sequence number. A retry of a request already applied
// gets the cached result and changes nothing. Windows (not just the last seq) let one client keep
// several requests in flight. Everything here is replicated state: eviction is decided by apply
// order alone, so every replica evicts the same entries.
import { assert } from '../core/index.js';
import { configClientsMax, configClientWindowMax } from './limits.js';
import type { CommandResult } from './state-machine.js';

interface Window {
  /** Seqs at or below this are forgotten: a retry of one answers StaleRequest. */
  forgottenBelow: number;
  readonly results: Map<number, CommandResult>;
}

export interface ClientWindowV1 {
  readonly client: string;
  readonly forgottenBelow: number;
  readonly results: [number, CommandResult][];
}

export class ClientWindows {
  /** Insertion order is recency: the first client is the least recently active. */
  private readonly windows = new Map<string, Window>();

  /** The cached result of (client, seq); undefined when never applied; 'stale' when forgotten. */
  lookup(client: string, seq: number): CommandResult | 'stale' | undefined {
    const window = this.windows.get(client);
    if (!window) return undefined;
    if (seq <= window.forgottenBelow) return 'stale';
    return window.results.get(seq);
  }

  record(client: string, seq: number, result: CommandResult): void {
    let window = this.windows.get(client);
    if (window) this.windows.delete(client);
    else window = { forgottenBelow: 0, results: new Map() };
    this.windows.set(client, window);
    assert(!window.results.has(seq), `request ${client}/${seq} recorded twice`);
    window.results.set(seq, result);
    while (window.results.size > configClientWindowMax) {
      const oldest = Math.min(...window.results.keys());
      window.results.delete(oldest);
      window.forgottenBelow = Math.max(window.forgottenBelow, oldest);
    }
    if (this.windows.size > configClientsMax) this.windows.delete(this.windows.keys().next().value!);
  }

  size(): number {
    return this.windows.size;
  }

  encode(): ClientWindowV1[] {
    return [...this.windows].map(([client, window]) => ({ client, forgottenBelow: window.forgottenBelow, results: [...window.results] }));
  }

  static decode(persisted: readonly ClientWindowV1[]): ClientWindows {
    const windows = new ClientWindows();
    for (const entry of persisted) windows.windows.set(entry.client, { forgottenBelow: entry.forgottenBelow, results: new Map(entry.results) });
    return windows;
  }
}
