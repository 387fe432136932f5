// ConfigStateV1: the state machine's image inside a raft snapshot (STYLE.md §5; thesis §5.1).
// It holds everything apply() reads — keys, leases, the watch history and the retry windows —
// so a replica restored from it answers exactly as one that replayed the log.
import { RaftAssertionError } from '../core/index.js';
import { ClientWindows, type ClientWindowV1 } from './client-windows.js';
import { ConfigStateMachine, type KeyValue, type WatchEvent } from './state-machine.js';

interface ConfigStateV1 {
  readonly version: 1;
  readonly revision: number;
  readonly compactedRevision: number;
  readonly nextLease: number;
  readonly keys: KeyValue[];
  readonly leases: { id: number; ttlMs: number; keys: string[] }[];
  readonly events: WatchEvent[];
  readonly clients: ClientWindowV1[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeState(machine: ConfigStateMachine): Uint8Array {
  const state: ConfigStateV1 = {
    version: 1,
    revision: machine.revision,
    compactedRevision: machine.compactedRevision,
    nextLease: machine.nextLease,
    keys: [...machine.keys.values()],
    leases: [...machine.leases.values()].map((lease) => ({ id: lease.id, ttlMs: lease.ttlMs, keys: [...lease.keys] })),
    events: machine.events,
    clients: machine.clients.encode(),
  };
  return encoder.encode(JSON.stringify(state));
}

/** An empty image (a fresh cluster's bootstrap snapshot) decodes to an empty machine. */
export function decodeState(bytes: Uint8Array): ConfigStateMachine {
  const machine = new ConfigStateMachine();
  if (bytes.length === 0) return machine;
  const state = JSON.parse(decoder.decode(bytes)) as ConfigStateV1;
  if (state.version !== 1) throw new RaftAssertionError(`config state version ${String(state.version)} unknown`);
  machine.revision = state.revision;
  machine.compactedRevision = state.compactedRevision;
  machine.nextLease = state.nextLease;
  for (const kv of state.keys) machine.keys.set(kv.key, kv);
  for (const lease of state.leases) machine.leases.set(lease.id, { id: lease.id, ttlMs: lease.ttlMs, keys: new Set(lease.keys) });
  machine.events = state.events;
  machine.clients = ClientWindows.decode(state.clients);
  return machine;
}
