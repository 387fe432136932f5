// Everything a run draws from its seed, drawn first and logged first (STYLE.md §9), so a
// failing seed names the world it failed in.
import type { Prng } from './prng.js';

export interface SimOptions {
  readonly seed: number;
  readonly clusterSize: 3 | 5;
  readonly clients: number;
  readonly faultTicks: number;
  readonly healTicksMax: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly delayTicksMax: number;
  /** Per tick: probability of each fault action. */
  readonly crashProbability: number;
  readonly restartProbability: number;
  readonly partitionProbability: number;
  readonly healProbability: number;
  readonly membershipProbability: number;
  readonly transferProbability: number;
  /** Per node per tick: probability its clock skips a tick or runs a double one (thesis §6.4.1). */
  readonly clockSkewProbability: number;
  /** Per tick: probability a node freezes (a GC or VM pause) for pauseTicksMax ticks at most. */
  readonly pauseProbability: number;
  readonly pauseTicksMax: number;
  readonly compactEvery: number;
  readonly snapshotChunkBytes: number;
}

export interface RunLength {
  readonly faultTicks: number;
  readonly healTicksMax: number;
}

export const defaultRunLength: RunLength = { faultTicks: 600, healTicksMax: 600 };

export function drawOptions(seed: number, prng: Prng, length: RunLength): SimOptions {
  const pick = <T>(items: readonly T[]) => prng.pick(items);
  return {
    seed,
    clusterSize: pick([3, 5] as const),
    clients: prng.between(2, 5),
    faultTicks: length.faultTicks,
    healTicksMax: length.healTicksMax,
    electionTicks: 10,
    heartbeatTicks: prng.between(1, 3),
    lossProbability: pick([0, 0.01, 0.05, 0.15]),
    duplicateProbability: pick([0, 0.02, 0.1]),
    delayTicksMax: prng.between(1, 6),
    crashProbability: pick([0, 0.005, 0.02, 0.05]),
    restartProbability: pick([0.02, 0.1]),
    partitionProbability: pick([0, 0.01, 0.03]),
    healProbability: pick([0.02, 0.05]),
    membershipProbability: pick([0, 0.01, 0.03]),
    transferProbability: pick([0, 0.005]),
    clockSkewProbability: pick([0, 0.05, 0.2]),
    pauseProbability: pick([0, 0.005, 0.01]),
    pauseTicksMax: prng.between(10, 60),
    compactEvery: prng.between(8, 40),
    snapshotChunkBytes: pick([16, 64, 512]),
  };
}

export function describeOptions(options: SimOptions): string {
  return Object.entries(options).map(([key, value]) => `${key}=${value}`).join(' ');
}
