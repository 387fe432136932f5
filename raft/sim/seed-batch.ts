// Shared by the CI seed tests: runs a range of seeds with the CI run length and returns each
// failure with its replay command, so a red test names the exact world to replay.
import type { RunLength } from './options.js';
import { runSimulation } from './simulation.js';

/** Shorter than the CLI default so 2,000 seeds fit the CI budget on two cores. */
export const ciRunLength: RunLength = { faultTicks: 400, healTicksMax: 500 };

export interface BatchReport {
  readonly failures: string[];
  readonly committed: number;
  readonly operations: number;
}

export function runSeedBatch(from: number, count: number): BatchReport {
  const failures: string[] = [];
  let committed = 0;
  let operations = 0;
  for (let seed = from; seed < from + count; seed++) {
    const result = runSimulation(seed, ciRunLength);
    committed += result.committed;
    operations += result.operations;
    if (result.failure) {
      failures.push(`${result.failure.kind}: ${result.failure.message}\n  replay: npm run sim -- --seed=${seed} --fault-ticks=${ciRunLength.faultTicks} --heal-ticks=${ciRunLength.healTicksMax}`);
    }
  }
  return { failures, committed, operations };
}
