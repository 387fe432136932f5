// Method: deterministic simulation (STYLE.md §9). Seeds 1001..2000 of the faulty world
// (loss, duplication, delay, reordering, partitions incl. one-way, crashes losing unsynced writes,
// membership changes), each checked for the Raft safety invariants on every step, convergence in
// the heal phase, and linearizability of its client history. Split in two files so the two
// vitest workers share the 2,000 seeds.
import { describe, expect, it } from 'vitest';
import { runSeedBatch } from './seed-batch.js';

describe('raft simulation seeds 1001..2000', () => {
  it('every seed keeps safety, converges after healing, and stays linearizable', () => {
    const report = runSeedBatch(1001, 1000);
    if (report.failures.length > 0) console.error(report.failures.join('\n'));
    expect(report.failures).toEqual([]);
    expect(report.committed).toBeGreaterThan(1000 * 10);
  }, 240_000);
});
