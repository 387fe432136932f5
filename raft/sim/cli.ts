// `npm run sim -- --seed=N` replays one seed with its log; `npm run sim -- --seeds N [--from=S]`
// runs N seeds and prints each failure with its replay command. Options: --fault-ticks=T,
// --heal-ticks=T. This is a shell: it may read argv; the world itself reads nothing.
import { defaultRunLength } from './options.js';
import { runSimulation, type SimResult } from './simulation.js';

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let k = 0; k < args.length; k++) {
    if (args[k] === `--${name}`) return args[k + 1];
    if (args[k].startsWith(`--${name}=`)) return args[k].slice(name.length + 3);
  }
  return undefined;
}

function report(result: SimResult, verbose: boolean): void {
  if (verbose || result.failure) {
    for (const line of result.log) console.log(line);
  }
  const summary = `seed ${result.seed}: ${result.ticks} ticks, ${result.committed} committed, ${result.operations} ops (${result.pending} pending)`;
  if (result.failure) console.log(`FAIL ${result.failure.kind}: ${result.failure.message}\n  ${summary}\n  replay: ${result.replay}`);
  else console.log(`ok ${summary}`);
}

const length = {
  faultTicks: Number(argument('fault-ticks') ?? defaultRunLength.faultTicks),
  healTicksMax: Number(argument('heal-ticks') ?? defaultRunLength.healTicksMax),
};
const seed = argument('seed');
if (seed !== undefined) {
  const result = runSimulation(Number(seed), length);
  report(result, true);
  process.exitCode = result.failure ? 1 : 0;
} else {
  const count = Number(argument('seeds') ?? 100);
  const from = Number(argument('from') ?? 1);
  let failures = 0;
  const started = performance.now();
  for (let current = from; current < from + count; current++) {
    const result = runSimulation(current, length);
    if (result.failure) {
      failures++;
      report(result, false);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${count - failures}/${count} seeds passed in ${seconds} s`);
  process.exitCode = failures > 0 ? 1 : 0;
}
