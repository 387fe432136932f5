// `cairn config-node`: one member of the raft configuration service (raft/config), wired here
// because only tools/ reads argv (ARCHITECTURE.md). Prints one line once both ports listen:
//   config node <id> pid <pid> client http://HOST:PORT raft HOST:PORT
// and writes the same facts to <data>/config-endpoint.json so a caller can check who answers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeId, type NodeId } from '../raft/core/index.js';
import { buildHttpApi, ConfigNode } from '../raft/config/index.js';
import type { PeerAddress } from '../raft/transport/index.js';

export interface ConfigNodeArgs {
  readonly id: string | undefined;
  readonly peers: string | undefined;
  readonly dataDir: string;
  readonly host: string;
  readonly clientPort: string | undefined;
  /** Applied entries between snapshots; small values exercise InstallSnapshot in tests. */
  readonly compactEvery?: string;
}

/** Parses "1=127.0.0.1:7001,2=127.0.0.1:7002" into node id → raft address. */
export function parsePeers(text: string): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  for (const item of text.split(',')) {
    const match = /^(\d+)=([^:]+):(\d+)$/.exec(item.trim());
    if (!match || Number(match[1]) < 1) throw new Error(`--peers item "${item}" is not ID=HOST:PORT with ID >= 1`);
    peers.set(nodeId(Number(match[1])), { host: match[2], port: Number(match[3]) });
  }
  return peers;
}

export async function runConfigNode(args: ConfigNodeArgs): Promise<() => Promise<void>> {
  if (args.id === undefined || args.peers === undefined || args.clientPort === undefined) {
    throw new Error('config-node needs --id N --peers 1=HOST:PORT,... --client-port P');
  }
  const id = nodeId(Number(args.id));
  const peers = parsePeers(args.peers);
  if (!peers.has(id)) throw new Error(`--id ${args.id} is not in --peers`);
  if (args.compactEvery !== undefined && !(Number.isSafeInteger(Number(args.compactEvery)) && Number(args.compactEvery) >= 1)) {
    throw new Error('--compact-every must be an integer >= 1');
  }
  const node = await ConfigNode.start({
    id, peers, dataDir: args.dataDir,
    compactEvery: args.compactEvery === undefined ? undefined : Number(args.compactEvery),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const http = buildHttpApi(node);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(Number(args.clientPort), args.host, () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : Number(args.clientPort);
  const client = `http://${args.host}:${port}`;
  const raft = peers.get(id)!;
  writeFileSync(join(args.dataDir, 'config-endpoint.json'), JSON.stringify({ id: Number(id), pid: process.pid, client }));
  process.stdout.write(`config node ${id} pid ${process.pid} client ${client} raft ${raft.host}:${raft.port}\n`);
  return async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await node.stop();
  };
}
