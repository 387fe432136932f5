// The configuration service's HTTP/JSON door (STYLE.md §2): each request is parsed and
// validated into a typed call on ConfigNode; handlers hold no state-machine logic.
//   PUT    /kv/<key>[?cas=<version>][&lease=<id>]   body: the value (UTF-8)
//   GET    /kv/<key>            GET /kv/<prefix>?prefix=1 (range)
//   DELETE /kv/<key>[?cas=<version>]
//   POST   /lease  {"ttlMs":N}   POST /lease/<id>/keepalive   DELETE /lease/<id>
//   GET    /watch/<prefix>?after=<revision>[&waitMs=N]   (long poll)
//   GET    /status
// Writes carry x-cairn-client and x-cairn-seq: the request id that makes a retry safe (§6.3).
// Errors answer {error, message, leader} with the status from errors.ts; every answer carries
// x-cairn-node so a client can map leader hints to endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { validateKey, type Operation } from './command.js';
import { ConfigError, configErrorStatus } from './errors.js';
import { configBodyBytesMax } from './limits.js';
import type { ConfigNode } from './server.js';
import type { CommandResult } from './state-machine.js';

const watchWaitMsMax = 30_000;

export function buildHttpApi(node: ConfigNode): Server {
  const server = createServer((request, response) => {
    handle(node, request, response).catch((error: unknown) => answerError(node, response, error));
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 64;
  return server;
}

async function handle(node: ConfigNode, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://node');
  const parts = url.pathname.split('/').filter((part) => part.length > 0).map(decodePath);
  const method = request.method ?? 'GET';
  if (method === 'GET' && url.pathname === '/status') return answer(node, response, 200, { ...node.status(), pid: process.pid });
  if (parts[0] === 'kv' && parts.length >= 2) return handleKv(node, method, parts.slice(1).join('/'), url, request, response);
  if (parts[0] === 'lease') return handleLease(node, method, parts, request, response);
  if (method === 'GET' && parts[0] === 'watch') return handleWatch(node, parts.slice(1).join('/'), url, response);
  throw new ConfigError('InvalidRequest', `no route for ${method} ${url.pathname}`);
}

async function handleKv(node: ConfigNode, method: string, key: string, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (method === 'GET' && url.searchParams.get('prefix') === '1') {
    const found = await node.read((machine) => ({ ...machine.range(key), revision: machine.revision }));
    return answer(node, response, 200, found);
  }
  validateKey(key);
  if (method === 'GET') {
    const found = await node.read((machine) => ({ kv: machine.get(key), revision: machine.revision }));
    return answer(node, response, found.kv ? 200 : 404, found);
  }
  const expectedVersion = optionalInteger(url.searchParams.get('cas'), 'cas');
  if (method === 'PUT') {
    const value = (await readBody(request)).toString('utf8');
    const lease = optionalInteger(url.searchParams.get('lease'), 'lease');
    return answerResult(node, response, await submit(node, request, { op: 'put', key, value, lease, expectedVersion }));
  }
  if (method === 'DELETE') return answerResult(node, response, await submit(node, request, { op: 'delete', key, expectedVersion }));
  throw new ConfigError('InvalidRequest', `${method} not allowed on /kv`);
}

async function handleLease(node: ConfigNode, method: string, parts: string[], request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (method === 'POST' && parts.length === 1) {
    const body = parseJson(await readBody(request)) as { ttlMs?: unknown };
    const result = await submit(node, request, { op: 'leaseGrant', ttlMs: body.ttlMs as number });
    return answerResult(node, response, result);
  }
  const lease = optionalInteger(parts[1] ?? null, 'lease');
  if (lease === null) throw new ConfigError('InvalidRequest', 'lease id missing');
  if (method === 'POST' && parts[2] === 'keepalive' && parts.length === 3) return answer(node, response, 200, node.keepAlive(lease));
  if (method === 'DELETE' && parts.length === 2) return answerResult(node, response, await submit(node, request, { op: 'leaseRevoke', lease }));
  throw new ConfigError('InvalidRequest', `${method} not allowed on /lease`);
}

async function handleWatch(node: ConfigNode, prefix: string, url: URL, response: ServerResponse): Promise<void> {
  const after = optionalInteger(url.searchParams.get('after'), 'after') ?? 0;
  const waitMs = Math.min(optionalInteger(url.searchParams.get('waitMs'), 'waitMs') ?? 10_000, watchWaitMsMax);
  const started = performance.now();
  // Bounded long poll: wait for applies until an event matches or the wait runs out.
  for (let rounds = 0; rounds < 10_000; rounds++) {
    const events = node.machine.watch(prefix, after);
    const left = waitMs - (performance.now() - started);
    if (events.length > 0 || left <= 0) return answer(node, response, 200, { events, revision: node.machine.revision });
    await node.nextApply(left);
  }
  return answer(node, response, 200, { events: [], revision: node.machine.revision });
}

async function submit(node: ConfigNode, request: IncomingMessage, operation: Operation): Promise<CommandResult> {
  const client = header(request, 'x-cairn-client');
  const seq = header(request, 'x-cairn-seq');
  // Without a request id a write is still accepted, but a retry of it is not deduplicated.
  if (client === null || seq === null) return node.submit(`anonymous-${node.id}-${process.pid}`, node.nextAnonymousSeq(), operation);
  return node.submit(client, Number(seq), operation);
}

const resultStatus: Record<NonNullable<CommandResult['reason']>, number> = {
  VersionMismatch: 412, KeyNotFound: 404, LeaseNotFound: 404, TooManyLeases: 429, StaleRequest: 409,
};

function answerResult(node: ConfigNode, response: ServerResponse, result: CommandResult): void {
  answer(node, response, result.reason === null ? 200 : resultStatus[result.reason], result);
}

function answerError(node: ConfigNode, response: ServerResponse, error: unknown): void {
  if (error instanceof ConfigError) {
    answer(node, response, configErrorStatus[error.code], { error: error.code, message: error.message, leader: error.leader });
    return;
  }
  // A broken invariant is a bug, never a 4xx (STYLE.md §6).
  process.stderr.write(`config node ${node.id}: ${error instanceof Error ? error.stack : String(error)}\n`);
  answer(node, response, 500, { error: 'Internal', message: 'internal error', leader: null });
}

function answer(node: ConfigNode, response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-cairn-node': String(node.id) });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > configBodyBytesMax) throw new ConfigError('InvalidRequest', `body over ${configBodyBytesMax} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new ConfigError('InvalidRequest', 'body is not JSON');
  }
}

function optionalInteger(text: string | null, name: string): number | null {
  if (text === null) return null;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new ConfigError('InvalidRequest', `${name} must be a non-negative integer`);
  return value;
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : null;
}

function decodePath(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('InvalidRequest', 'path is not valid percent-encoding');
  }
}
