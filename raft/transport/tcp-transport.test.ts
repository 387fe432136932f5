// Method: real TCP transports on loopback ports chosen by the OS. Messages flow both ways; a
// restarted peer is reached again by reconnect with backoff; garbage on a connection closes that
// connection only; a peer that is down costs bounded memory (its queue drops when full).
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeId, term, type Message, type NodeId } from '../core/index.js';
import { TcpTransport, type PeerAddress } from './tcp-transport.js';
import { transportQueueFramesMax } from './limits.js';

const loopback = '127.0.0.1';
const started: TcpTransport[] = [];

async function freePort(): Promise<number> {
  const probe = await TcpTransport.start({ id: nodeId(99), listen: { host: loopback, port: 0 }, peers: new Map(), onMessage: () => {} });
  const port = probe.port();
  await probe.close();
  return port;
}

async function node(id: number, port: number, peers: [number, number][], inbox: Message[]): Promise<TcpTransport> {
  const map = new Map<NodeId, PeerAddress>(peers.map(([peer, peerPort]) => [nodeId(peer), { host: loopback, port: peerPort }]));
  const transport = await TcpTransport.start({ id: nodeId(id), listen: { host: loopback, port }, peers: map, onMessage: (message) => inbox.push(message) });
  started.push(transport);
  return transport;
}

const heartbeat = (from: number, to: number, commit: number): Message =>
  ({ type: 'heartbeat', from: nodeId(from), to: nodeId(to), term: term(1), commit: commit as never, context: null });

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const transport of started.splice(0)) await transport.close();
});

describe('raft tcp transport', () => {
  it('delivers messages in both directions in order', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const inboxA: Message[] = [];
    const inboxB: Message[] = [];
    const a = await node(1, portA, [[2, portB]], inboxA);
    const b = await node(2, portB, [[1, portA]], inboxB);
    for (let k = 1; k <= 100; k++) a.send(heartbeat(1, 2, k));
    b.send(heartbeat(2, 1, 5));
    await until(() => inboxB.length === 100 && inboxA.length === 1, 'delivery');
    expect(inboxB.map((message) => (message as { commit: number }).commit)).toEqual(Array.from({ length: 100 }, (_, k) => k + 1));
  });

  it('reconnects to a restarted peer and drops when a down peer queue is full', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const inboxB: Message[] = [];
    const a = await node(1, portA, [[2, portB]], []);
    for (let k = 0; k < transportQueueFramesMax + 10; k++) a.send(heartbeat(1, 2, k));
    expect(a.stats.dropped).toBeGreaterThanOrEqual(10);
    await node(2, portB, [[1, portA]], inboxB);
    await until(() => inboxB.length > 0, 'first delivery');
    const b = started.pop()!;
    await b.close();
    const inboxB2: Message[] = [];
    await node(2, portB, [[1, portA]], inboxB2);
    await until(() => { a.send(heartbeat(1, 2, 1)); return inboxB2.length > 0; }, 'delivery after restart');
  });

  it('closes a connection that sends garbage and keeps serving others', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const inboxB: Message[] = [];
    const b = await node(2, portB, [[1, portA]], inboxB);
    const rogue = connect(portB, loopback);
    const closed = new Promise<void>((resolve) => rogue.on('close', () => resolve()));
    rogue.on('error', () => {});
    rogue.write(Buffer.from('0000000011112222garbage-garbage', 'utf8'));
    await closed;
    expect(b.stats.rejected).toBe(1);
    const a = await node(1, portA, [[2, portB]], []);
    a.send(heartbeat(1, 2, 3));
    await until(() => inboxB.length === 1, 'delivery after garbage');
  });
});
