// ConfigClient: finds the leader, retries safely, and gives up clearly (Raft thesis §6.2, §6.3).
// - Leader: a node that cannot serve answers 421 with a hint; the client maps node ids to
//   endpoints from the x-cairn-node header (or /status) and goes there; no hint → next endpoint.
// - Retries: every write gets one (client id, seq) before its first attempt and keeps it across
//   retries, so a write that committed but whose answer was lost is applied once (§6.3).
// - Time: each attempt is bounded, and so is the whole call; past it, ConfigClientError Timeout
//   names what was tried. The write's outcome is then unknown (it may still apply, once).
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { ConfigError, retryableCodes, type ConfigErrorCode } from './errors.js';
import type { CommandResult, KeyValue, WatchEvent } from './state-machine.js';

export interface ConfigClientOptions {
  readonly endpoints: readonly string[];
  readonly clientId?: string;
  /** The whole call, retries included. */
  readonly timeoutMs?: number;
  /** One HTTP attempt. */
  readonly attemptTimeoutMs?: number;
}

export interface ClientStatus {
  readonly id: number;
  readonly pid: number;
  readonly role: string;
  readonly leader: number | null;
  readonly term: number;
  readonly commit: number;
  readonly revision: number;
}

const retryAttemptsMax = 1_000;
const backoffMsMin = 5;
const backoffMsMax = 200;

interface Call {
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  readonly path: string;
  readonly body?: string;
  /** Writes carry a request id, fixed across retries. */
  readonly seq?: number;
}

export class ConfigClient {
  readonly clientId: string;
  private seq = 0;
  private preferred = 0;
  private readonly endpointOf = new Map<number, number>();
  /** Keep-alive connections, one pool per client (node:http costs far less CPU than fetch). */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly options: ConfigClientOptions) {
    if (options.endpoints.length === 0) throw new ConfigError('InvalidRequest', 'no endpoints');
    this.clientId = options.clientId ?? randomBytes(8).toString('hex');
  }

  async put(key: string, value: string, options: { cas?: number; lease?: number } = {}): Promise<CommandResult> {
    const query = new URLSearchParams();
    if (options.cas !== undefined) query.set('cas', String(options.cas));
    if (options.lease !== undefined) query.set('lease', String(options.lease));
    return this.write({ method: 'PUT', path: `/kv/${encodeURIComponent(key)}${suffix(query)}`, body: value });
  }

  /** Sets `key` to `value` only if its version is `expectedVersion` (0: only if absent). */
  async cas(key: string, expectedVersion: number, value: string): Promise<CommandResult> {
    return this.put(key, value, { cas: expectedVersion });
  }

  async delete(key: string, options: { cas?: number } = {}): Promise<CommandResult> {
    const query = new URLSearchParams();
    if (options.cas !== undefined) query.set('cas', String(options.cas));
    return this.write({ method: 'DELETE', path: `/kv/${encodeURIComponent(key)}${suffix(query)}` });
  }

  /** A linearizable read (served by the leader after ReadIndex, thesis §6.4). */
  async get(key: string): Promise<KeyValue | null> {
    return ((await this.call({ method: 'GET', path: `/kv/${encodeURIComponent(key)}` })) as { kv: KeyValue | null }).kv;
  }

  async range(prefix: string): Promise<{ kvs: KeyValue[]; more: boolean; revision: number }> {
    return (await this.call({ method: 'GET', path: `/kv/${encodeURIComponent(prefix)}?prefix=1` })) as { kvs: KeyValue[]; more: boolean; revision: number };
  }

  async grantLease(ttlMs: number): Promise<number> {
    const result = await this.write({ method: 'POST', path: '/lease', body: JSON.stringify({ ttlMs }) });
    if (!result.ok || result.lease === null) throw new ConfigClientError('TooManyLeases', `lease not granted: ${result.reason}`);
    return result.lease;
  }

  async keepAlive(lease: number): Promise<void> {
    await this.call({ method: 'POST', path: `/lease/${lease}/keepalive` });
  }

  async revokeLease(lease: number): Promise<CommandResult> {
    return this.write({ method: 'DELETE', path: `/lease/${lease}` });
  }

  /** Changes under `prefix` after `after`, in revision order; waits up to waitMs for one. */
  async watch(prefix: string, after: number, waitMs = 10_000): Promise<{ events: WatchEvent[]; revision: number }> {
    const path = `/watch/${encodeURIComponent(prefix)}?after=${after}&waitMs=${waitMs}`;
    return (await this.call({ method: 'GET', path }, waitMs + (this.options.attemptTimeoutMs ?? 4_000))) as { events: WatchEvent[]; revision: number };
  }

  async status(endpoint: string): Promise<ClientStatus> {
    return (await this.exchange(endpoint, { method: 'GET', path: '/status' }, {}, this.options.attemptTimeoutMs ?? 4_000)).body as ClientStatus;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async write(call: Omit<Call, 'seq'>): Promise<CommandResult> {
    return (await this.call({ ...call, seq: ++this.seq })) as CommandResult;
  }

  private async call(call: Call, attemptMs = this.options.attemptTimeoutMs ?? 4_000): Promise<unknown> {
    const deadline = performance.now() + (this.options.timeoutMs ?? 10_000);
    let lastProblem = 'no attempt made';
    let backoffMs = backoffMsMin;
    for (let attempt = 0; attempt < retryAttemptsMax; attempt++) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const index = this.preferred;
      const outcome = await this.attempt(index, call, Math.min(attemptMs, left));
      if (outcome.kind === 'answer') return outcome.body;
      lastProblem = outcome.problem;
      if (outcome.kind === 'fatal') throw new ConfigClientError(outcome.code, outcome.problem);
      if (outcome.leader !== null && this.endpointOf.has(outcome.leader) && this.endpointOf.get(outcome.leader) !== index) {
        this.preferred = this.endpointOf.get(outcome.leader)!;
        continue;
      }
      if (outcome.leader !== null && !this.endpointOf.has(outcome.leader)) await this.learnEndpoints();
      if (this.preferred === index) this.preferred = (index + 1) % this.options.endpoints.length;
      await sleep(Math.ceil(Math.min(backoffMs, Math.max(0, deadline - performance.now()))));
      backoffMs = Math.min(backoffMs * 2, backoffMsMax);
    }
    throw new ConfigClientError('Timeout', `${call.method} ${call.path} not answered within ${this.options.timeoutMs ?? 10_000} ms by ${this.options.endpoints.join(', ')}; last: ${lastProblem}`);
  }

  private async attempt(index: number, call: Call, timeoutMs: number): Promise<Outcome> {
    const headers: Record<string, string> = {};
    if (call.seq !== undefined) {
      headers['x-cairn-client'] = this.clientId;
      headers['x-cairn-seq'] = String(call.seq);
    }
    try {
      const response = await this.exchange(this.options.endpoints[index], call, headers, timeoutMs);
      if (response.node > 0) this.endpointOf.set(response.node, index);
      const body = response.body as { error?: ConfigErrorCode; message?: string; leader?: number | null };
      if (body.error === undefined) return { kind: 'answer', body };
      const problem = `${response.status} ${body.message ?? body.error}`;
      if (retryableCodes.has(body.error)) return { kind: 'retry', problem, leader: body.leader ?? null };
      return { kind: 'fatal', code: body.error, problem };
    } catch (error) {
      return { kind: 'retry', problem: `${this.options.endpoints[index]}: ${error instanceof Error ? error.message : String(error)}`, leader: null };
    }
  }

  /** One HTTP request and its JSON answer, bounded by timeoutMs; throws on any failure. */
  private exchange(endpoint: string, call: Call, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; node: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const url = new URL(`${endpoint}${call.path}`);
      const outgoing = httpRequest({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: call.method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, node: Number(response.headers['x-cairn-node'] ?? 0), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      outgoing.setTimeout(Math.max(1, Math.ceil(timeoutMs)), () => outgoing.destroy(new Error(`no answer in ${Math.ceil(timeoutMs)} ms`)));
      outgoing.on('error', reject);
      outgoing.end(call.body);
    });
  }

  /** Asks every endpoint who it is, so leader hints (node ids) map to endpoints. */
  private async learnEndpoints(): Promise<void> {
    await Promise.all(this.options.endpoints.map(async (endpoint, index) => {
      try {
        this.endpointOf.set((await this.status(endpoint)).id, index);
      } catch {
        // Down or slow: it will be learned from a later answer.
      }
    }));
  }
}

type Outcome =
  | { readonly kind: 'answer'; readonly body: unknown }
  | { readonly kind: 'retry'; readonly problem: string; readonly leader: number | null }
  | { readonly kind: 'fatal'; readonly code: ConfigErrorCode; readonly problem: string };

export class ConfigClientError extends Error {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ConfigClientError';
    this.code = code;
  }
}

function suffix(query: URLSearchParams): string {
  const text = query.toString();
  return text.length > 0 ? `?${text}` : '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
