// Method: three ConfigNodes in one process on loopback ports (real FileStorage, real TCP
// transport, timers). A write is retried with the same request id on the same leader and again
// on the next leader after the first one stops: it is applied once and every retry gets the same
// result (thesis §6.3). A client whose endpoints are all dead gives up with a clear Timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeId, type NodeId } from '../core/index.js';
import type { PeerAddress } from '../transport/index.js';
import { ConfigClient } from './client.js';
import { ConfigNode } from './server.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-config-node-'));
const nodes: ConfigNode[] = [];

afterAll(async () => {
  for (const node of nodes) await node.stop().catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

async function leaderOf(candidates: readonly ConfigNode[]): Promise<ConfigNode> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    const leader = candidates.find((node) => node.status().role === 'leader');
    if (leader) return leader;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no leader elected');
}

describe('config node', () => {
  it('applies a retried request id once, on the same leader and on the next one', async () => {
    const peers = new Map<NodeId, PeerAddress>();
    for (let id = 1; id <= 3; id++) peers.set(nodeId(id), { host: '127.0.0.1', port: await freePort() });
    for (const id of peers.keys()) nodes.push(await ConfigNode.start({ id, peers, dataDir: join(root, `node-${id}`) }));
    const first = await leaderOf(nodes);
    const operation = { op: 'put', key: 'once', value: 'v', lease: null, expectedVersion: null } as const;
    const result = await first.submit('retrier', 1, operation);
    expect(await first.submit('retrier', 1, operation)).toEqual(result);
    await first.stop();
    const rest = nodes.filter((node) => node !== first);
    const second = await leaderOf(rest);
    expect(await second.submit('retrier', 1, operation)).toEqual(result);
    expect(await second.read((machine) => machine.get('once')?.version)).toBe(1);
    expect((await second.submit('retrier', 2, operation)).kv?.version).toBe(2);
  });

  it('client: all endpoints down ends in a Timeout that names them', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = new ConfigClient({ endpoints: [dead], timeoutMs: 300, attemptTimeoutMs: 100 });
    await expect(client.put('k', 'v')).rejects.toThrow(new RegExp(`Timeout: PUT /kv/k not answered within 300 ms by ${dead}`));
    client.close();
  });
});
