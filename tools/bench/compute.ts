// Bench for compute/drivers (issue 6): the wasm driver end to end through its worker threads,
// beside a node:vm context running the same handler in the same run. Figures: cold start
// (create + init) vs restore from a snapshot, trivial invocations/s, RSS per idle environment,
// snapshot image size and 4 KiB page dedup between images. Bounded well under 60 s.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { decodeWasmImageV1, WasmDriver, type Environment, type FunctionCode, type SnapshotImage } from '../../compute/drivers/index.js';
import { type BenchRow, formatRows } from './report.js';

const memoryMb = 128;
const coldRounds = 40;
const restoreRounds = 150;
const invokeWindowMs = 3000;
const idleEnvironments = 100;
const prewarmedRounds = 60;
const sequentialRounds = 1000;

const trivialSource = 'exports.handler = async (event) => ({ ok: true, n: event.n });';
const trivial: FunctionCode = { handler: 'index.handler', files: { 'index.js': trivialSource } };
const trivialNext: FunctionCode = { handler: 'index.handler', files: { 'index.js': 'const version = 2;\n' + trivialSource.replace('ok: true', 'ok: version === 2') } };
const mapFunction: FunctionCode = {
  handler: 'index.handler',
  files: { 'index.js': 'const table = new Map(); for (let i = 0; i < 5000; i++) table.set("key" + i, { i, square: i * i });\nexports.handler = async (event) => table.get("key" + event.n) ?? null;' },
};

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

function invokeRequest(n: number) {
  return { eventJson: `{"n":${n}}`, timeoutMs: 3000, context: { requestId: `bench-${n}`, functionName: 'bench', memoryLimitInMB: memoryMb, deadlineMs: Date.now() + 3000 } };
}

async function loaded(driver: WasmDriver, code: FunctionCode): Promise<Environment> {
  const environment = await driver.create({ memoryMb });
  const outcome = await environment.load(code, { timeoutMs: 5000 });
  if (!outcome.ok) throw new Error(`bench function failed to load: ${JSON.stringify(outcome.error)}`);
  return environment;
}

// ---- node:vm reference: the same handler in a fresh context (no isolation of memory or CPU).
function vmCold(code: FunctionCode): (event: unknown) => Promise<unknown> {
  const module = { exports: {} as { handler?: (event: unknown, context: unknown) => Promise<unknown> } };
  const context = vm.createContext({ module, exports: module.exports, console });
  vm.runInContext(code.files['index.js'], context);
  const handler = module.exports.handler;
  if (!handler) throw new Error('vm reference: no handler');
  return (event) => handler(event, {});
}

async function vmInvocationsPerSecond(): Promise<number> {
  const handler = vmCold(trivial);
  let count = 0;
  const until = performance.now() + invokeWindowMs / 2;
  while (performance.now() < until) {
    JSON.stringify(await handler(JSON.parse(`{"n":${count}}`)));
    count++;
  }
  return count / (invokeWindowMs / 2000);
}

async function coldStarts(driver: WasmDriver): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < coldRounds; i++) {
    const started = performance.now();
    const environment = await loaded(driver, trivial);
    times.push(performance.now() - started);
    await environment.destroy();
    await sleep(5); // the pool refills in idle time, as it would between arrivals
  }
  return times;
}

async function restores(driver: WasmDriver, image: SnapshotImage, pacedMs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < restoreRounds; i++) {
    const started = performance.now();
    const environment = await driver.restore(image);
    times.push(performance.now() - started);
    await environment.destroy();
    if (pacedMs > 0) await sleep(pacedMs);
  }
  return times;
}

// WASM-SNAPSHOTS.md "restore into a pre-created blank instance": the pool is filled first (as
// cairn-warm or idle-time refills do), so no restore pays for instantiation.
async function prewarmedRestores(driver: WasmDriver, image: SnapshotImage): Promise<number[]> {
  await driver.warm({ memoryMb }, Math.min(2 * prewarmedRounds, 128));
  const times: number[] = [];
  for (let i = 0; i < prewarmedRounds; i++) {
    const started = performance.now();
    const environment = await driver.restore(image);
    times.push(performance.now() - started);
    await environment.destroy();
  }
  return times;
}

async function sequentialInvokes(driver: WasmDriver, image: SnapshotImage): Promise<number[]> {
  const environment = await driver.restore(image);
  const times: number[] = [];
  for (let i = 0; i < sequentialRounds; i++) {
    const started = performance.now();
    const outcome = await environment.invoke(invokeRequest(i));
    times.push(performance.now() - started);
    if (!outcome.ok) throw new Error(`bench invoke failed: ${JSON.stringify(outcome.error)}`);
  }
  await environment.destroy();
  return times;
}

async function vmSequentialInvokes(): Promise<number[]> {
  const handler = vmCold(trivial);
  const times: number[] = [];
  for (let i = 0; i < sequentialRounds; i++) {
    const started = performance.now();
    JSON.stringify(await handler(JSON.parse(`{"n":${i}}`)));
    times.push(performance.now() - started);
  }
  return times;
}

async function invocationsPerSecond(driver: WasmDriver, image: SnapshotImage): Promise<number> {
  const environments = await Promise.all([0, 1, 2, 3].map(() => driver.restore(image)));
  let count = 0;
  const until = performance.now() + invokeWindowMs;
  await Promise.all(environments.map(async (environment) => {
    while (performance.now() < until) {
      const outcome = await environment.invoke(invokeRequest(count));
      if (!outcome.ok) throw new Error(`bench invoke failed: ${JSON.stringify(outcome.error)}`);
      count++;
    }
  }));
  for (const environment of environments) await environment.destroy();
  return count / (invokeWindowMs / 1000);
}

async function rssPerIdle<T>(make: () => Promise<T>): Promise<{ perMiB: number; kept: T[] }> {
  const before = process.memoryUsage().rss;
  const kept: T[] = [];
  for (let i = 0; i < idleEnvironments; i++) kept.push(await make());
  await sleep(200);
  const after = process.memoryUsage().rss;
  return { kept, perMiB: (after - before) / idleEnvironments / (1024 * 1024) };
}

function dedupRatio(a: SnapshotImage, b: SnapshotImage, buildHash: string): number {
  const seen = new Set<string>();
  let total = 0;
  for (const image of [a, b]) {
    const { pages } = decodeWasmImageV1(image.bytes, buildHash);
    for (let offset = 0; offset < pages.byteLength; offset += 4096, total++) {
      seen.add(createHash('sha256').update(pages.subarray(offset, offset + 4096)).digest('hex'));
    }
  }
  return total / seen.size;
}

export async function run(): Promise<BenchRow[]> {
  const driver = await WasmDriver.start({ workers: 2, poolSize: 4 });
  try {
    await driver.warm({ memoryMb }, 8);
    const vmColdTimes: number[] = [];
    for (let i = 0; i < coldRounds; i++) { const started = performance.now(); vmCold(trivial); vmColdTimes.push(performance.now() - started); }
    const cold = await coldStarts(driver);
    const source = await loaded(driver, trivial);
    const image = await source.snapshot();
    await source.destroy();
    const paced = await restores(driver, image, 10);
    const burst = await restores(driver, image, 0);
    const prewarmed = await prewarmedRestores(driver, image);
    const sequential = await sequentialInvokes(driver, image);
    const vmSequential = await vmSequentialInvokes();
    const ours = await invocationsPerSecond(driver, image);
    const reference = await vmInvocationsPerSecond();
    const idle = await rssPerIdle(() => driver.restore(image));
    for (const environment of idle.kept) await environment.destroy();
    const idleOurs = idle.perMiB;
    const idleVm = (await rssPerIdle(async () => vmCold(trivial))).perMiB;
    const header = decodeWasmImageV1(image.bytes, driver.buildHash).header;
    const next = await loaded(driver, trivialNext);
    const nextImage = await next.snapshot();
    const copy = await loaded(driver, trivial);
    const copyImage = await copy.snapshot();
    const other = await loaded(driver, mapFunction);
    const otherImage = await other.snapshot();
    const vmColdP50 = percentile(vmColdTimes, 0.5);
    const latency = { unit: 'ms', referenceName: 'node:vm context + same handler', referenceFigure: vmColdP50, higherIsBetter: false };
    return [
      { name: 'compute cold start (create + init) p50', figure: percentile(cold, 0.5), ...latency, note: 'end to end via worker' },
      { name: 'compute cold start (create + init) p99', figure: percentile(cold, 0.99), ...latency, referenceFigure: percentile(vmColdTimes, 0.99) },
      { name: 'compute restore from snapshot p50', figure: percentile(paced, 0.5), ...latency, note: 'pool refilled between arrivals (10 ms apart); aim < 5 ms' },
      { name: 'compute restore from snapshot p99', figure: percentile(paced, 0.99), ...latency, referenceFigure: percentile(vmColdTimes, 0.99) },
      { name: 'compute restore burst p50 (pool drained)', figure: percentile(burst, 0.5), ...latency, note: `p99 ${percentile(burst, 0.99).toFixed(2)} ms, back to back` },
      { name: 'compute restore into pre-created instance p50', figure: percentile(prewarmed, 0.5), ...latency, note: `p99 ${percentile(prewarmed, 0.99).toFixed(2)} ms; pool warmed first (cairn-warm); aim < 5 ms` },
      { name: 'compute invoke latency, one environment p50', figure: percentile(sequential, 0.5), unit: 'ms', referenceName: 'node:vm same handler call', referenceFigure: percentile(vmSequential, 0.5), higherIsBetter: false, note: `p99 ${percentile(sequential, 0.99).toFixed(2)} ms, main thread → worker → engine → back` },
      { name: 'compute trivial invocations/s', figure: ours, unit: 'ops/s', referenceName: 'node:vm same handler, one thread', referenceFigure: reference, higherIsBetter: true, note: '4 environments on 2 workers, end to end; aim >= 1000' },
      { name: 'compute RSS per idle restored environment', figure: idleOurs, unit: 'MiB', referenceName: 'node:vm context with handler', referenceFigure: idleVm, higherIsBetter: false, note: `${idleEnvironments} environments` },
      { name: 'compute snapshot image, trivial function', figure: image.bytes.byteLength / 1024, unit: 'KiB', referenceName: 'whole linear memory', referenceFigure: (header.memoryPages * 65536) / 1024, higherIsBetter: false, note: 'non-zero 4 KiB pages only' },
      { name: 'compute snapshot image, 5k-entry Map function', figure: otherImage.bytes.byteLength / 1024, unit: 'KiB', referenceName: 'whole linear memory', referenceFigure: (header.memoryPages * 65536) / 1024, higherIsBetter: false },
      { name: 'compute page dedup, two loads of one function', figure: dedupRatio(image, copyImage, driver.buildHash), unit: 'x', referenceName: 'no dedup', referenceFigure: 1, higherIsBetter: true, note: '4 KiB pages, sha256; 2.0 is perfect' },
      { name: 'compute page dedup, two versions of one function', figure: dedupRatio(image, nextImage, driver.buildHash), unit: 'x', referenceName: 'no dedup', referenceFigure: 1, higherIsBetter: true, note: '4 KiB pages, sha256' },
      { name: 'compute page dedup, two different functions', figure: dedupRatio(image, otherImage, driver.buildHash), unit: 'x', referenceName: 'no dedup', referenceFigure: 1, higherIsBetter: true, note: 'trivial vs 5k-entry Map' },
    ];
  } finally {
    await driver.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  console.log(formatRows(rows));
}
