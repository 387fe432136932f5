// The fault phase's actions, each drawn from the world's PRNG: crashes and restarts, partitions
// (split, isolate, one-way link), membership changes and leadership transfers.
import { RaftError, nodeId, type NodeId } from '../core/index.js';
import type { World } from './simulation.js';

export function injectFaults(world: World): void {
  const { prng, options } = world;
  const live = world.liveNodes();
  if (prng.chance(options.crashProbability) && live.length > 0) {
    // Leaders are the interesting victims: half the crashes hit the current one.
    const leader = world.leader();
    const victim = leader && prng.chance(0.5) ? leader : prng.pick(live);
    world.log(`crash ${victim.id}`);
    victim.crash();
  }
  // Crash a node just after it voted, before anything else it writes is synced: a vote that was
  // not durable would let it vote twice in one term (Raft paper Figure 2, "persistent state").
  const voters = live.filter((node) => node.votedRecently && node.alive());
  for (const node of live) node.votedRecently = false;
  if (voters.length > 0 && prng.chance(options.crashProbability * 10)) {
    const victim = prng.pick(voters);
    world.log(`crash ${victim.id} right after voting`);
    victim.crash();
  }
  const down = [...world.nodes.values()].filter((node) => !node.alive());
  if (prng.chance(options.restartProbability) && down.length > 0) {
    const node = prng.pick(down);
    world.log(`restart ${node.id}`);
    node.start(world.prng.fork());
  }
  if (prng.chance(options.pauseProbability) && live.length > 0) {
    const leader = world.leader();
    const node = leader && prng.chance(0.5) ? leader : prng.pick(live);
    node.pausedUntil = world.now + prng.between(1, options.pauseTicksMax);
    world.log(`pause ${node.id} until ${node.pausedUntil}`);
  }
  if (prng.chance(options.partitionProbability)) partition(world);
  if (prng.chance(options.healProbability) && world.network.cutCount() > 0) {
    world.log('heal network');
    world.network.healAll();
  }
  if (prng.chance(options.membershipProbability)) changeMembership(world);
  if (prng.chance(options.transferProbability)) transfer(world);
}

function partition(world: World): void {
  const { prng, network } = world;
  const ids = [...world.nodes.keys()];
  const kind = prng.nextBelow(3);
  const leader = world.leader();
  if (kind === 1 && leader && prng.chance(0.5)) {
    world.log(`isolate leader ${leader.id}`);
    for (const other of ids) if (other !== leader.id) { network.cut(leader.id, other); network.cut(other, leader.id); }
    return;
  }
  if (kind === 0) {
    const side = new Set(ids.filter(() => prng.chance(0.5)));
    world.log(`partition {${[...side]}} | {${ids.filter((id) => !side.has(id))}}`);
    for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) network.cut(a, b);
  } else if (kind === 1) {
    const isolated = prng.pick(ids);
    world.log(`isolate ${isolated}`);
    for (const other of ids) if (other !== isolated) { network.cut(isolated, other); network.cut(other, isolated); }
  } else {
    const from = prng.pick(ids);
    const to = prng.pick(ids);
    if (from === to) return;
    world.log(`cut one way ${from} -> ${to}`);
    network.cut(from, to);
  }
}

function changeMembership(world: World): void {
  const leader = world.leader();
  if (!leader) return;
  const { prng } = world;
  const membership = leader.raft!.status().membership;
  const allIds = Array.from({ length: world.options.clusterSize + 2 }, (_, k) => nodeId(k + 1));
  const outsiders = allIds.filter((id) => !membership.voters.includes(id) && !membership.learners.includes(id));
  const choice = prng.nextBelow(3);
  let change: Parameters<NonNullable<typeof leader.raft>['proposeMembership']>[0];
  if (choice === 0 && outsiders.length > 0 && membership.voters.length + membership.learners.length < 7) {
    change = { type: 'addLearner', node: prng.pick(outsiders) };
  } else if (choice === 1 && membership.learners.length > 0 && membership.voters.length < 5) {
    change = { type: 'addVoter', node: prng.pick(membership.learners) };
  } else if (choice === 2 && membership.voters.length > 3) {
    change = { type: 'remove', node: prng.pick(membership.voters) };
  } else {
    return;
  }
  try {
    leader.raft!.proposeMembership(change);
    world.log(`propose ${change.type} ${change.node} at leader ${leader.id}`);
    world.ensureNode(change.node);
  } catch (error) {
    if (!(error instanceof RaftError)) throw error;
  }
}

function transfer(world: World): void {
  const leader = world.leader();
  if (!leader) return;
  const voters = leader.raft!.status().membership.voters.filter((id: NodeId) => id !== leader.id);
  if (voters.length === 0) return;
  const target = world.prng.pick(voters);
  try {
    leader.raft!.transferLeadership(target);
    world.log(`transfer ${leader.id} -> ${target}`);
  } catch (error) {
    if (!(error instanceof RaftError)) throw error;
  }
}
