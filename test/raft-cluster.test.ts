// Method: three real `cairn config-node` processes on loopback. First the service's contract
// through the client (CAS on versions, leases, watches, redirects from followers). Then chaos:
// concurrent clients put/get/cas a few keys while the leader and a follower are killed with
// SIGKILL in turns and restarted; every call's invoke and response times are recorded. The
// history, closed by final reads, must be linearizable (raft/linearizability, with a versioned
// register model) and every acknowledged write must still be counted in its key's version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigClient, ConfigClientError } from '../raft/config/index.js';
import { checkHistory, type HistoryOperation, type Model } from '../raft/linearizability/index.js';
import { findLeader, startConfigCluster, type ConfigCluster, type ConfigMember } from './helpers/config-cluster.js';

type Input = { op: 'put'; key: string; value: string } | { op: 'get'; key: string } | { op: 'cas'; key: string; expected: number; value: string };
interface Output { ok: boolean; value: string | null; version: number }
interface Register { value: string | null; version: number }

/** One register per key with a version that counts writes (no deletes in this history). */
const versionedModel: Model<Register, Input, Output> = {
  init: () => ({ value: null, version: 0 }),
  step(state, input, output) {
    if (input.op === 'get') return { ok: output === undefined || (output.value === state.value && output.version === state.version), state };
    const swapped = input.op === 'put' || state.version === input.expected;
    const next = swapped ? { value: input.value, version: state.version + 1 } : state;
    if (output === undefined) return { ok: true, state: next };
    return { ok: output.ok === swapped && output.version === next.version && (!swapped || output.value === input.value), state: next };
  },
  stateKey: (state) => `${state.version}=${state.value}`,
  partition: (input) => input.key,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let cluster: ConfigCluster;

beforeAll(async () => {
  // Snapshots every 300 entries: restarts recover from snapshots, laggards may get InstallSnapshot.
  cluster = await startConfigCluster(3, ['--compact-every', '300']);
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

async function waitForLeader(): Promise<ConfigMember> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const leader = await findLeader(cluster);
    if (leader) return leader;
    await sleep(100);
  }
  throw new Error(`no leader:\n${cluster.members.map((member) => member.output).join('\n')}`);
}

describe('raft config service, 3 processes', () => {
  it('serves CAS, leases and watches, and redirects a client that starts at a follower', async () => {
    const leader = await waitForLeader();
    const follower = cluster.members.find((member) => member !== leader)!;
    const client = new ConfigClient({ endpoints: [follower.endpoint, ...cluster.endpoints.filter((endpoint) => endpoint !== follower.endpoint)] });
    expect((await client.cas('basic/a', 0, 'one')).ok).toBe(true);
    expect(await client.cas('basic/a', 0, 'again')).toMatchObject({ ok: false, reason: 'VersionMismatch' });
    expect(await client.cas('basic/a', 1, 'two')).toMatchObject({ ok: true, kv: { version: 2, value: 'two' } });
    expect(await client.get('basic/a')).toMatchObject({ value: 'two', version: 2 });
    const lease = await client.grantLease(600);
    const leased = await client.put('basic/session', 'alive', { lease });
    const watched = await client.watch('basic/', leased.revision - 1, 5_000);
    expect(watched.events.map((event) => [event.type, event.key])).toEqual([['put', 'basic/session']]);
    await client.keepAlive(lease);
    const expiry = await client.watch('basic/session', leased.revision, 5_000);
    expect(expiry.events).toMatchObject([{ type: 'delete', key: 'basic/session' }]);
    expect(await client.get('basic/session')).toBeNull();
    const stranger = new ConfigClient({ endpoints: cluster.endpoints, timeoutMs: 2_000 });
    await expect(stranger.keepAlive(lease)).rejects.toThrow(/LeaseNotFound/);
  });

  it('stays linearizable and loses nothing acknowledged while leader and followers are killed', async () => {
    const keys = ['x', 'y', 'z'];
    const history: HistoryOperation<Input, Output>[] = [];
    const acknowledgedWrites = new Map<string, number>(keys.map((key) => [key, 0]));
    const started = performance.now();
    const chaosMs = 45_000;
    let running = true;
    const worker = async (clientIndex: number) => {
      const client = new ConfigClient({ endpoints: cluster.endpoints, timeoutMs: 4_000, attemptTimeoutMs: 1_500 });
      const seen = new Map<string, number>();
      for (let n = 0; running && n < 100_000; n++) {
        const key = keys[(clientIndex + n * 7 + Math.floor(n / 3)) % keys.length];
        const roll = (clientIndex * 31 + n * 17) % 10;
        const value = `c${clientIndex}-${n}`;
        const input: Input = roll < 4 ? { op: 'get', key } : roll < 7 ? { op: 'put', key, value } : { op: 'cas', key, expected: seen.get(key) ?? 0, value };
        const call = performance.now();
        try {
          const output = await perform(client, input);
          history.push({ input, output, call, return: performance.now() });
          seen.set(key, output.version);
          if (input.op !== 'get' && output.ok) acknowledgedWrites.set(key, acknowledgedWrites.get(key)! + 1);
        } catch (error) {
          if (!(error instanceof ConfigClientError && error.code === 'Timeout')) throw error;
          // Outcome unknown: a write stays pending (it may take effect at any later point).
          if (input.op !== 'get') history.push({ input, call, return: Infinity });
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, index) => worker(index));
    const kills: string[] = [];
    for (let round = 0; performance.now() - started < chaosMs - 4_000; round++) {
      await sleep(1_000);
      const leader = await waitForLeader();
      const victim = round % 2 === 0 ? leader : cluster.members.find((member) => member !== leader && member.child)!;
      kills.push(`${round % 2 === 0 ? 'leader' : 'follower'} ${victim.id}`);
      await cluster.kill(victim);
      await sleep(1_000);
      await cluster.start(victim);
    }
    running = false;
    await Promise.all(workers);
    const finalClient = new ConfigClient({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
    for (const key of keys) {
      const call = performance.now();
      const output = await perform(finalClient, { op: 'get', key });
      history.push({ input: { op: 'get', key }, output, call, return: performance.now() });
      expect(output.version, `key ${key}: acknowledged writes lost`).toBeGreaterThanOrEqual(acknowledgedWrites.get(key)!);
    }
    const completed = history.filter((operation) => operation.return !== Infinity).length;
    const verdict = checkHistory(versionedModel, history);
    expect(verdict.ok, `${verdict.detail} (kills: ${kills.join(', ')})`).toBe(true);
    // Each round restarts a node (a few seconds on a loaded machine): at least two of each kind.
    expect(kills.length).toBeGreaterThanOrEqual(4);
    // The model has teeth: the same history with one final read claiming a write too many fails.
    const forged = history.map((operation, at) => at === history.length - 1 ? { ...operation, output: { ...operation.output!, version: operation.output!.version + 1 } } : operation);
    expect(checkHistory(versionedModel, forged).ok).toBe(false);
    expect(completed).toBeGreaterThan(500);
    const statuses = await Promise.all(cluster.endpoints.map(async (endpoint) => (await (await fetch(`${endpoint}/status`)).json()) as { counters: { snapshotsInstalled: number } }));
    const installed = statuses.reduce((sum, status) => sum + status.counters.snapshotsInstalled, 0);
    process.stdout.write(`raft chaos: ${completed} completed, ${history.length - completed} pending, kills: ${kills.join(', ')}; snapshots installed since last restarts: ${installed}\n`);
  }, 120_000);
});

async function perform(client: ConfigClient, input: Input): Promise<Output> {
  if (input.op === 'get') {
    const kv = await client.get(input.key);
    return { ok: true, value: kv?.value ?? null, version: kv?.version ?? 0 };
  }
  const result = input.op === 'put' ? await client.put(input.key, input.value) : await client.cas(input.key, input.expected, input.value);
  return { ok: result.ok, value: result.kv?.value ?? null, version: result.kv?.version ?? 0 };
}
