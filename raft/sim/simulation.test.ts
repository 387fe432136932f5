// Method: properties of the simulator itself: a seed replays to the identical world, options are
// drawn from the seed, and a broken state machine is caught and classed (not silently passed).
import { describe, expect, it } from 'vitest';
import { Prng } from './prng.js';
import { runSimulation } from './simulation.js';

const short = { faultTicks: 200, healTicksMax: 400 };

describe('simulation', () => {
  it('replays a seed to the identical run', () => {
    const first = runSimulation(42, short);
    const second = runSimulation(42, short);
    expect(second.log).toEqual(first.log);
    expect(second.committed).toBe(first.committed);
    expect(second.operations).toBe(first.operations);
    expect(first.replay).toBe('npm run sim -- --seed=42');
  });

  // Seeds that once failed, at the CLI's default run length: 2729 stalled a replicate window whose
  // appends were all lost (liveness); 2318 elected a leader of an older term late (delayed votes),
  // which the leader-completeness check wrongly flagged; 5289 catches a leader that serves reads
  // without confirming leadership (a deliberate mutant) — it must keep passing on the real core.
  it.each([2318, 2729, 5289])('keeps passing regression seed %i', (seed) => {
    const result = runSimulation(seed);
    expect(result.failure).toBeNull();
  });

  it('draws different worlds from different seeds', () => {
    const sizes = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => runSimulation(seed, short).options.clusterSize));
    expect(sizes).toEqual(new Set([3, 5]));
  });

  it('xoshiro128** is uniform enough and reproducible', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 4000; k++) {
      const value = a.nextBelow(4);
      expect(b.nextBelow(4)).toBe(value);
      counts[value]++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(900);
  });
});
