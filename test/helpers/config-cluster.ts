// Starts real `cairn config-node` child processes on loopback: ports are probed free (listen on
// 0, close), passed on the command line, and each node's /status must answer with the node id
// and the pid of the process started here, so a stray process on a reused port is never tested.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cairn-process.js';

export interface ConfigMember {
  readonly id: number;
  readonly dataDir: string;
  readonly raftPort: number;
  readonly clientPort: number;
  readonly endpoint: string;
  child: ChildProcess | null;
  output: string;
}

export interface ConfigCluster {
  readonly members: ConfigMember[];
  readonly endpoints: string[];
  start(member: ConfigMember): Promise<void>;
  /** SIGKILL: what a crash looks like. */
  kill(member: ConfigMember): Promise<void>;
  /** Kills every child and removes every data directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

export async function startConfigCluster(size = 3, extraArgs: readonly string[] = []): Promise<ConfigCluster> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-raft-'));
  const members: ConfigMember[] = [];
  for (let id = 1; id <= size; id++) {
    const raftPort = await freePort();
    const clientPort = await freePort();
    members.push({ id, dataDir: join(root, `node-${id}`), raftPort, clientPort, endpoint: `http://127.0.0.1:${clientPort}`, child: null, output: '' });
  }
  const peers = members.map((member) => `${member.id}=127.0.0.1:${member.raftPort}`).join(',');
  const cluster: ConfigCluster = {
    members,
    endpoints: members.map((member) => member.endpoint),
    start: (member) => startMember(member, peers, extraArgs),
    async kill(member) {
      const child = member.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
      member.child = null;
    },
    async destroy() {
      for (const member of members) await cluster.kill(member);
      await rm(root, { recursive: true, force: true });
    },
  };
  await Promise.all(members.map((member) => cluster.start(member)));
  return cluster;
}

async function startMember(member: ConfigMember, peers: string, extraArgs: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools/cli.ts'), 'config-node', '--id', String(member.id),
    '--peers', peers, '--data', member.dataDir, '--client-port', String(member.clientPort), ...extraArgs], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  member.child = child;
  child.stdout!.on('data', (data: Buffer) => { member.output = (member.output + data.toString()).slice(-20_000); });
  child.stderr!.on('data', (data: Buffer) => { member.output = (member.output + data.toString()).slice(-20_000); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`config node ${member.id} did not start:\n${member.output}`)), 30_000);
    const onData = () => {
      if (!/config node \d+ pid \d+ client/.test(member.output)) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`config node ${member.id} exited with ${code}:\n${member.output}`)); });
  });
  const status = (await (await fetch(`${member.endpoint}/status`)).json()) as { id: number; pid: number };
  if (status.id !== member.id || status.pid !== child.pid) throw new Error(`port ${member.clientPort} is answered by node ${status.id} pid ${status.pid}, not the one started`);
}

/** The member that reports itself leader and is agreed on by a majority, or null. */
export async function findLeader(cluster: ConfigCluster): Promise<ConfigMember | null> {
  const votes = new Map<number, number>();
  for (const member of cluster.members) {
    if (!member.child) continue;
    try {
      const status = (await (await fetch(`${member.endpoint}/status`, { signal: AbortSignal.timeout(1_000) })).json()) as { leader: number | null };
      if (status.leader !== null) votes.set(status.leader, (votes.get(status.leader) ?? 0) + 1);
    } catch {
      // A node that does not answer casts no vote.
    }
  }
  for (const [id, count] of votes) if (count * 2 > cluster.members.length) return cluster.members.find((member) => member.id === id) ?? null;
  return null;
}
