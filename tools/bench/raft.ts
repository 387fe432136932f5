// Bench for raft/config: three `cairn config-node` processes on loopback, fsync on, against etcd
// (Debian etcd-server) with three members on loopback, both driven by the same load shape in this
// run: W workers each writing its own key in a closed loop for a fixed time (1 and 64 workers),
// then failover: SIGKILL the leader and time until a write is served again. Our side goes through
// ConfigClient (HTTP/JSON), etcd's through the etcd3 npm client (gRPC); both clients know every
// member. Children are killed and temp dirs removed when done.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { ConfigClient } from '../../raft/config/index.js';
import { findLeader, freePort, startConfigCluster } from '../../test/helpers/config-cluster.js';
import type { BenchRow } from './report.js';

const loadSeconds = 5;
const valueText = 'v'.repeat(100);
const etcdBinary = '/usr/bin/etcd';

interface LoadFigures { opsPerSecond: number; p50Ms: number; p99Ms: number }
interface SystemFigures { single: LoadFigures; many: LoadFigures; failoverMs: number }
type Writer = (worker: number, n: number) => Promise<void>;

async function load(workers: number, write: (worker: number) => Writer): Promise<LoadFigures> {
  const latencies: number[] = [];
  const endAt = performance.now() + loadSeconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    const writer = write(worker);
    for (let n = 0; performance.now() < endAt && n < 1_000_000; n++) {
      const call = performance.now();
      await writer(worker, n);
      latencies.push(performance.now() - call);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (fraction: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))] ?? 0;
  return { opsPerSecond: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** Time from SIGKILL of the leader until `write` succeeds again (bounded by 30 s). */
async function failover(kill: () => Promise<void>, write: () => Promise<void>): Promise<number> {
  const killed = performance.now();
  await kill();
  for (let attempt = 0; attempt < 10_000 && performance.now() - killed < 30_000; attempt++) {
    try {
      await write();
      return performance.now() - killed;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  throw new Error('no write served within 30 s of killing the leader');
}

async function measureOurs(): Promise<SystemFigures> {
  const cluster = await startConfigCluster(3);
  try {
    const clients = Array.from({ length: 64 }, () => new ConfigClient({ endpoints: cluster.endpoints, timeoutMs: 10_000 }));
    const writer = (worker: number): Writer => async (_, n) => { await clients[worker].put(`bench/${worker}`, `${valueText}${n}`); };
    await clients[0].put('bench/warm', valueText);
    const single = await load(1, writer);
    const many = await load(64, writer);
    const leader = await findLeader(cluster);
    if (!leader) throw new Error('no leader before failover');
    const probe = new ConfigClient({ endpoints: cluster.endpoints, timeoutMs: 1_000, attemptTimeoutMs: 300 });
    const failoverMs = await failover(() => cluster.kill(leader), async () => { await probe.put('bench/failover', valueText); });
    for (const client of [...clients, probe]) client.close();
    return { single, many, failoverMs };
  } finally {
    await cluster.destroy();
  }
}

interface EtcdMember { name: string; clientUrl: string; peerUrl: string; child: ChildProcess | null }

async function startEtcd(root: string): Promise<EtcdMember[]> {
  const members: EtcdMember[] = [];
  for (let k = 1; k <= 3; k++) {
    members.push({ name: `m${k}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, child: null });
  }
  const initial = members.map((member) => `${member.name}=${member.peerUrl}`).join(',');
  for (const member of members) {
    member.child = spawn(etcdBinary, [
      '--name', member.name, '--data-dir', join(root, member.name),
      '--listen-client-urls', member.clientUrl, '--advertise-client-urls', member.clientUrl,
      '--listen-peer-urls', member.peerUrl, '--initial-advertise-peer-urls', member.peerUrl,
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'cairn-bench', '--log-level', 'error',
    ], { stdio: 'ignore' });
  }
  return members;
}

/** The member that reports itself leader through etcd's JSON gateway, or null. */
async function etcdLeader(members: readonly EtcdMember[]): Promise<EtcdMember | null> {
  for (const member of members) {
    if (!member.child) continue;
    try {
      const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
      const status = (await response.json()) as { header?: { member_id?: string }; leader?: string };
      if (status.leader !== undefined && status.leader === status.header?.member_id) return member;
    } catch {
      // Not up yet, or down.
    }
  }
  return null;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function measureEtcd(): Promise<SystemFigures> {
  const root = mkdtempSync(join(tmpdir(), 'cairn-etcd-'));
  const members = await startEtcd(root);
  const hosts = members.map((member) => member.clientUrl);
  const clients = Array.from({ length: 64 }, () => new Etcd3({ hosts }));
  try {
    for (let attempt = 0; attempt < 300 && !(await etcdLeader(members)); attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    await clients[0].put('bench/warm').value(valueText);
    const writer = (worker: number): Writer => async (_, n) => { await clients[worker].put(`bench/${worker}`).value(`${valueText}${n}`); };
    const single = await load(1, writer);
    const many = await load(64, writer);
    const leader = await etcdLeader(members);
    if (!leader) throw new Error('etcd has no leader before failover');
    const probe = new Etcd3({ hosts });
    const kill = async () => {
      const child = leader.child!;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
      leader.child = null;
    };
    const failoverMs = await failover(kill, async () => { await withTimeout((async () => probe.put('bench/failover').value(valueText))(), 1_000); });
    probe.close();
    return { single, many, failoverMs };
  } finally {
    for (const client of clients) client.close();
    for (const member of members) member.child?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const ours = await measureOurs();
  let etcd: SystemFigures | null = null;
  let note: string | undefined;
  if (existsSync(etcdBinary)) etcd = await measureEtcd();
  else note = `etcd not installed (${etcdBinary}); apt-get install -y etcd-server`;
  const reference = 'etcd 3-member (etcd3 client)';
  const row = (name: string, figure: number, theirs: number | undefined, unit: string, higherIsBetter: boolean): BenchRow =>
    ({ name, figure, unit, referenceName: reference, referenceFigure: theirs ?? 0, higherIsBetter, note });
  return [
    row('raft config: committed writes/s, 1 client', ours.single.opsPerSecond, etcd?.single.opsPerSecond, 'ops/s', true),
    row('raft config: write p50, 1 client', ours.single.p50Ms, etcd?.single.p50Ms, 'ms', false),
    row('raft config: write p99, 1 client', ours.single.p99Ms, etcd?.single.p99Ms, 'ms', false),
    row('raft config: committed writes/s, 64 clients', ours.many.opsPerSecond, etcd?.many.opsPerSecond, 'ops/s', true),
    row('raft config: write p50, 64 clients', ours.many.p50Ms, etcd?.many.p50Ms, 'ms', false),
    row('raft config: write p99, 64 clients', ours.many.p99Ms, etcd?.many.p99Ms, 'ms', false),
    row('raft config: leader failover (kill -9 → write served)', ours.failoverMs, etcd?.failoverMs, 'ms', false),
  ];
}
