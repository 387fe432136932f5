// The replicated KV the simulation runs: put / get / cas, with per-client sessions so a retried
// request (same client, same sequence number) is applied once (thesis §6.3). Gets normally go
// through ReadIndex, but a get in the log is also served, for completeness.
import type { KvModelInput, KvModelOutput } from '../linearizability/model.js';

// The same operations and answers the linearizability model checks, by construction.
export type KvInput = KvModelInput;
export type KvOutput = KvModelOutput;

export interface KvCommand {
  readonly client: number;
  readonly seq: number;
  readonly input: KvInput;
}

interface KvSnapshotV1 {
  readonly version: 1;
  readonly data: [string, string][];
  readonly sessions: [number, { seq: number; output: KvOutput }][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(decoder.decode(data)) as KvCommand;
}

export class KvStore {
  private data = new Map<string, string>();
  private sessions = new Map<number, { seq: number; output: KvOutput }>();

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** Applies a command; a duplicate returns the first result, an older one returns null. */
  apply(command: KvCommand): KvOutput | null {
    const session = this.sessions.get(command.client);
    if (session && session.seq === command.seq) return session.output;
    if (session && session.seq > command.seq) return null;
    const output = this.execute(command.input);
    this.sessions.set(command.client, { seq: command.seq, output });
    return output;
  }

  private execute(input: KvInput): KvOutput {
    const current = this.get(input.key);
    if (input.op === 'get') return { ok: true, value: current };
    if (input.op === 'put') {
      this.data.set(input.key, input.value);
      return { ok: true, value: null };
    }
    if (current !== input.expected) return { ok: false, value: current };
    this.data.set(input.key, input.value);
    return { ok: true, value: current };
  }

  encode(): Uint8Array {
    const snapshot: KvSnapshotV1 = { version: 1, data: [...this.data], sessions: [...this.sessions] };
    return encoder.encode(JSON.stringify(snapshot));
  }

  static decode(bytes: Uint8Array): KvStore {
    const store = new KvStore();
    if (bytes.length === 0) return store;
    const snapshot = JSON.parse(decoder.decode(bytes)) as KvSnapshotV1;
    if (snapshot.version !== 1) throw new Error(`kv snapshot version ${String(snapshot.version)}`);
    store.data = new Map(snapshot.data);
    store.sessions = new Map(snapshot.sessions);
    return store;
  }

  /** A canonical string for comparing replicas. */
  fingerprint(): string {
    return JSON.stringify([...this.data].sort());
  }
}
