// The configuration service's replicated state machine (Raft thesis §2.1: every replica applies
// the same commands in the same order and reaches the same state). Deterministic by
// construction: no clock, no randomness; time reaches it only as `leaseExpire` commands that
// the leader decided and replicated. Reads (get, range, watch) are served by the shell once a
// ReadIndex has been applied (thesis §6.4); this class only answers from applied state.
//
// Terms: the store revision counts mutating commands; a key's version counts its changes since
// it was (re)created (1 on create, gone on delete, so CAS with version 0 means "create").
import { assert } from '../core/index.js';
import type { CommandV1, Operation } from './command.js';
import { ClientWindows } from './client-windows.js';
import { ConfigError } from './errors.js';
import { configLeasesMax, configRangeKeysMax, configWatchBatchMax, configWatchEventsMax } from './limits.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly lease: number | null;
}

export interface WatchEvent {
  readonly revision: number;
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The key after the change; null for a delete. */
  readonly kv: KeyValue | null;
}

/** The outcome of one command; cached per (client, seq) and returned again to a retry. */
export interface CommandResult {
  /** False when a condition failed (version mismatch, missing key or lease); nothing changed. */
  readonly ok: boolean;
  readonly revision: number;
  /** The key after a put or delete attempt (its current state when ok is false). */
  readonly kv: KeyValue | null;
  readonly lease: number | null;
  /** StaleRequest: a retry older than the client's cached window; its outcome is unknown. */
  readonly reason: 'VersionMismatch' | 'KeyNotFound' | 'LeaseNotFound' | 'TooManyLeases' | 'StaleRequest' | null;
}

export interface Lease {
  readonly id: number;
  readonly ttlMs: number;
  readonly keys: Set<string>;
}

export class ConfigStateMachine {
  revision = 0;
  /** Revisions at or below this have left the event history. */
  compactedRevision = 0;
  nextLease = 1;
  readonly keys = new Map<string, KeyValue>();
  readonly leases = new Map<number, Lease>();
  events: WatchEvent[] = [];
  clients = new ClientWindows();

  /** Applies one committed command; a duplicate (client, seq) returns the cached result (§6.3). */
  apply(command: CommandV1): CommandResult {
    const internal = command.operation.op === 'leaseExpire';
    if (!internal) {
      const cached = this.clients.lookup(command.client, command.seq);
      if (cached === 'stale') return this.refuse('StaleRequest', null);
      if (cached !== undefined) return cached;
    }
    const before = this.revision;
    const result = this.execute(command.operation);
    assert(this.revision === before || this.revision === before + 1, 'one command moves the revision at most once');
    if (!internal) this.clients.record(command.client, command.seq, result);
    return result;
  }

  private execute(operation: Operation): CommandResult {
    switch (operation.op) {
      case 'put': return this.put(operation.key, operation.value, operation.lease, operation.expectedVersion);
      case 'delete': return this.delete(operation.key, operation.expectedVersion);
      case 'leaseGrant': return this.grant(operation.ttlMs);
      case 'leaseRevoke': case 'leaseExpire': return this.revoke(operation.lease);
    }
  }

  private put(key: string, value: string, lease: number | null, expectedVersion: number | null): CommandResult {
    const current = this.keys.get(key) ?? null;
    if (expectedVersion !== null && (current?.version ?? 0) !== expectedVersion) return this.refuse('VersionMismatch', current);
    if (lease !== null && !this.leases.has(lease)) return this.refuse('LeaseNotFound', current);
    this.revision++;
    const kv: KeyValue = {
      key, value, lease,
      version: (current?.version ?? 0) + 1,
      createRevision: current?.createRevision ?? this.revision,
      modRevision: this.revision,
    };
    if (current?.lease != null && current.lease !== lease) this.leases.get(current.lease)?.keys.delete(key);
    if (lease !== null) this.leases.get(lease)!.keys.add(key);
    this.keys.set(key, kv);
    this.record({ revision: this.revision, type: 'put', key, kv });
    return { ok: true, revision: this.revision, kv, lease: null, reason: null };
  }

  private delete(key: string, expectedVersion: number | null): CommandResult {
    const current = this.keys.get(key) ?? null;
    if (current === null) return this.refuse('KeyNotFound', null);
    if (expectedVersion !== null && current.version !== expectedVersion) return this.refuse('VersionMismatch', current);
    this.revision++;
    this.removeKey(current);
    return { ok: true, revision: this.revision, kv: null, lease: null, reason: null };
  }

  private grant(ttlMs: number): CommandResult {
    if (this.leases.size >= configLeasesMax) return this.refuse('TooManyLeases', null);
    const id = this.nextLease++;
    this.leases.set(id, { id, ttlMs, keys: new Set() });
    return { ok: true, revision: this.revision, kv: null, lease: id, reason: null };
  }

  /** Revoke and expiry alike delete the lease and all its keys in one revision. */
  private revoke(id: number): CommandResult {
    const lease = this.leases.get(id);
    if (!lease) return this.refuse('LeaseNotFound', null);
    this.leases.delete(id);
    if (lease.keys.size > 0) {
      this.revision++;
      for (const key of [...lease.keys].sort()) this.removeKey(this.keys.get(key)!);
    }
    return { ok: true, revision: this.revision, kv: null, lease: id, reason: null };
  }

  private removeKey(current: KeyValue): void {
    this.keys.delete(current.key);
    if (current.lease !== null) this.leases.get(current.lease)?.keys.delete(current.key);
    this.record({ revision: this.revision, type: 'delete', key: current.key, kv: null });
  }

  private refuse(reason: NonNullable<CommandResult['reason']>, kv: KeyValue | null): CommandResult {
    return { ok: false, revision: this.revision, kv, lease: null, reason };
  }

  private record(event: WatchEvent): void {
    this.events.push(event);
    if (this.events.length > configWatchEventsMax) {
      const dropped = this.events.splice(0, this.events.length - configWatchEventsMax);
      this.compactedRevision = dropped[dropped.length - 1].revision;
    }
  }

  get(key: string): KeyValue | null {
    return this.keys.get(key) ?? null;
  }

  /** Keys starting with `prefix`, sorted, at most configRangeKeysMax. */
  range(prefix: string): { kvs: KeyValue[]; more: boolean } {
    const matching = [...this.keys.keys()].filter((key) => key.startsWith(prefix)).sort();
    const kvs = matching.slice(0, configRangeKeysMax).map((key) => this.keys.get(key)!);
    return { kvs, more: matching.length > kvs.length };
  }

  /** Events on keys under `prefix` with revision > after, in order (a watch, resumed from `after`). */
  watch(prefix: string, after: number): WatchEvent[] {
    // The events after `after` are complete only if none of them was dropped.
    if (after < this.compactedRevision) throw new ConfigError('Compacted', `revision ${after} is below the kept history (${this.compactedRevision})`);
    const found: WatchEvent[] = [];
    for (const event of this.events) {
      if (event.revision <= after || !event.key.startsWith(prefix)) continue;
      // Cut only between revisions: a client resumes after the last revision it saw.
      if (found.length >= configWatchBatchMax && event.revision !== found[found.length - 1].revision) break;
      found.push(event);
    }
    return found;
  }
}
