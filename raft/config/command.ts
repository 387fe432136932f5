// CommandV1: what the configuration service writes into raft entries (STYLE.md §5). JSON with a
// version field; decodeCommand validates completely, so the state machine only sees valid
// commands. Every command carries (client, seq) so a retry is applied once (thesis §6.3);
// `leaseExpire` comes from the leader itself and carries client "" (never deduplicated).
import { RaftAssertionError } from '../core/index.js';
import { ConfigError } from './errors.js';
import { configClientIdBytesMax, configKeyBytesMax, configLeaseTtlMsMax, configLeaseTtlMsMin, configValueBytesMax } from './limits.js';

export type Operation =
  /** expectedVersion: null = unconditional; 0 = the key must not exist; n = its version is n. */
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly lease: number | null; readonly expectedVersion: number | null }
  | { readonly op: 'delete'; readonly key: string; readonly expectedVersion: number | null }
  | { readonly op: 'leaseGrant'; readonly ttlMs: number }
  | { readonly op: 'leaseRevoke'; readonly lease: number }
  /** Decided by the leader's clock, replicated so every replica (and every replay) agrees. */
  | { readonly op: 'leaseExpire'; readonly lease: number };

export interface CommandV1 {
  readonly version: 1;
  readonly client: string;
  readonly seq: number;
  readonly operation: Operation;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeCommand(command: CommandV1): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Decodes an entry written by encodeCommand. A malformed entry in the log is a bug: assert. */
export function decodeCommand(bytes: Uint8Array): CommandV1 {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new RaftAssertionError('a committed entry is not a CommandV1');
  }
  const command = value as CommandV1;
  if (command?.version !== 1) throw new RaftAssertionError(`command version ${String(command?.version)} unknown`);
  validateOperation(command.operation);
  validateRequestId(command.client, command.seq, command.operation.op === 'leaseExpire');
  return command;
}

export function validateRequestId(client: unknown, seq: unknown, internal = false): void {
  if (internal) return;
  if (typeof client !== 'string' || client.length === 0 || encoder.encode(client).length > configClientIdBytesMax) {
    throw new ConfigError('InvalidRequest', 'client id must be 1..64 bytes');
  }
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) throw new ConfigError('InvalidRequest', 'request seq must be a positive integer');
}

export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || encoder.encode(key).length > configKeyBytesMax) {
    throw new ConfigError('InvalidRequest', `key must be 1..${configKeyBytesMax} bytes`);
  }
}

function validateVersion(version: unknown): void {
  if (version !== null && !(Number.isSafeInteger(version) && (version as number) >= 0)) {
    throw new ConfigError('InvalidRequest', 'expected version must be an integer >= 0');
  }
}

function validateLeaseId(lease: unknown): void {
  if (!(Number.isSafeInteger(lease) && (lease as number) >= 1)) throw new ConfigError('InvalidRequest', 'lease id must be an integer >= 1');
}

/** Throws ConfigError('InvalidRequest') unless `operation` is a well-formed Operation. */
export function validateOperation(operation: Operation): void {
  switch (operation?.op) {
    case 'put':
      validateKey(operation.key);
      if (typeof operation.value !== 'string' || encoder.encode(operation.value).length > configValueBytesMax) {
        throw new ConfigError('InvalidRequest', `value must be a string of at most ${configValueBytesMax} bytes`);
      }
      validateVersion(operation.expectedVersion);
      if (operation.lease !== null) validateLeaseId(operation.lease);
      return;
    case 'delete':
      validateKey(operation.key);
      validateVersion(operation.expectedVersion);
      return;
    case 'leaseGrant':
      if (!(Number.isSafeInteger(operation.ttlMs) && operation.ttlMs >= configLeaseTtlMsMin && operation.ttlMs <= configLeaseTtlMsMax)) {
        throw new ConfigError('InvalidRequest', `lease TTL must be ${configLeaseTtlMsMin}..${configLeaseTtlMsMax} ms`);
      }
      return;
    case 'leaseRevoke': case 'leaseExpire':
      validateLeaseId(operation.lease);
      return;
    default:
      throw new ConfigError('InvalidRequest', 'unknown operation');
  }
}
