// Lambda bench: sequential Invoke and DryRun latency, invocations/s of a trivial function
// through the HTTP API (SDK, 32 in flight)
// and events/s from S3 PUT to function completion (the function writes a derived object; we
// count derived objects). Reference, same run: a node:vm context running the same handler —
// the cost of JavaScript alone, without HTTP, SigV4, scheduling or the wasm engine.
import { createContext, runInContext } from 'node:vm';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { CreateBucketCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { removeDataDir, startCairn } from '../../test/helpers/cairn-process.js';
import { s3ClientFor } from '../../test/helpers/s3-client.js';
import { lambdaClientFor, role, zipOf } from '../../test/helpers/lambda.js';
import type { BenchRow } from './report.js';

const trivial = `exports.handler = async (event) => ({ ok: true, n: event.n });`;
const deriver = `exports.handler = async (event) => {
  const r = event.Records[0];
  const key = decodeURIComponent(r.s3.object.key.replace(/\\+/g, ' '));
  const got = await cairn.s3.getObject({ Bucket: r.s3.bucket.name, Key: key });
  await cairn.s3.putObject({ Bucket: r.s3.bucket.name, Key: 'derived/' + key, Body: got.Body.toUpperCase() });
};`;

async function vmReference(calls: number): Promise<number> {
  const context = createContext({});
  const handler = runInContext(`(() => { const exports = {}; ${trivial}; return exports.handler; })()`, context) as (event: unknown) => Promise<unknown>;
  const started = performance.now();
  for (let index = 0; index < calls; index++) await handler(JSON.parse(JSON.stringify({ n: index })));
  return calls / ((performance.now() - started) / 1000);
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

async function sequentialMs(calls: number, call: (index: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < calls; index++) {
    const started = performance.now();
    await call(index);
    times.push(performance.now() - started);
  }
  return times;
}

async function vmCallMs(calls: number): Promise<number[]> {
  const context = createContext({});
  const handler = runInContext(`(() => { const exports = {}; ${trivial}; return exports.handler; })()`, context) as (event: unknown) => Promise<unknown>;
  return sequentialMs(calls, async (index) => JSON.stringify(await handler(JSON.parse(JSON.stringify({ n: index })))));
}

/** CPU seconds (user + system, every thread) the server process has used: load-independent. */
async function cpuSecondsOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

async function inParallel(total: number, width: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < total) await task(next++); }));
}

export async function run(): Promise<BenchRow[]> {
  const cairn = await startCairn({ extraArgs: ['--log-level', 'error'] });
  const lambda = lambdaClientFor(cairn);
  const s3 = s3ClientFor(cairn);
  try {
    const created = await lambda.send(new CreateFunctionCommand({ FunctionName: 'trivial', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': trivial }) } }));
    const account = created.FunctionArn!.split(':')[4];
    const invoke = async (index: number) => { await lambda.send(new InvokeCommand({ FunctionName: 'trivial', Payload: Buffer.from(JSON.stringify({ n: index })) })); };
    await inParallel(200, 32, invoke); // warm: snapshot taken, pool filled
    // One call at a time: the fixed cost per call (HTTP + SigV4 + scheduler + worker round trip).
    // DryRun stops before the scheduler, so the difference is the scheduler → worker → engine leg.
    const dryRunMs = await sequentialMs(300, () => lambda.send(new InvokeCommand({ FunctionName: 'trivial', InvocationType: 'DryRun' })));
    const invokeMs = await sequentialMs(300, invoke);
    const vmMs = await vmCallMs(300);
    const calls = 2000;
    const cpuBefore = await cpuSecondsOf(cairn.child.pid);
    let started = performance.now();
    await inParallel(calls, 32, invoke);
    const invokesPerSecond = calls / ((performance.now() - started) / 1000);
    const serverCpuMs = ((await cpuSecondsOf(cairn.child.pid)) - cpuBefore) * 1000 / calls;
    const vmPerSecond = await vmReference(calls * 10);

    await lambda.send(new CreateFunctionCommand({ FunctionName: 'deriver', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': deriver }) } }));
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'bench', NotificationConfiguration: { LambdaFunctionConfigurations: [
      { LambdaFunctionArn: `arn:aws:lambda:us-east-1:${account}:function:deriver`, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }] } } },
    ] } }));
    const events = 300;
    started = performance.now();
    await inParallel(events, 16, async (index) => { await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `in/${index}`, Body: `object ${index}` })); });
    // Each event costs two S3 PUTs (the trigger's and the derived one): S3 PUT's own rate bounds it.
    const putsPerSecond = events / ((performance.now() - started) / 1000);
    let derived = 0;
    for (let round = 0; round < 600 && derived < events; round++) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: 'derived/', MaxKeys: 1000 }));
      derived = listed.KeyCount ?? 0;
      if (derived < events) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const eventsPerSecond = derived / ((performance.now() - started) / 1000);
    const perCall = { unit: 'ms', referenceName: 'node:vm same handler call', referenceFigure: percentile(vmMs, 0.5), higherIsBetter: false };
    return [
      { name: 'Lambda Invoke latency, sequential p50', figure: percentile(invokeMs, 0.5), ...perCall, note: `p99 ${percentile(invokeMs, 0.99).toFixed(2)} ms; SDK client in this process` },
      { name: 'Lambda DryRun latency, sequential p50', figure: percentile(dryRunMs, 0.5), ...perCall, note: `p99 ${percentile(dryRunMs, 0.99).toFixed(2)} ms; HTTP + SigV4 + lookup only` },
      { name: 'Lambda server CPU per Invoke (all threads)', figure: serverCpuMs, ...perCall, note: `${(1000 / serverCpuMs).toFixed(0)} invokes per CPU-second: the ceiling on an idle core; throughput below depends on the machine's load` },
      { name: 'Lambda Invoke trivial fn (HTTP, SigV4, 32 in flight)', figure: invokesPerSecond, unit: 'ops/s', referenceName: 'node:vm same handler, in process', referenceFigure: vmPerSecond, higherIsBetter: true },
      { name: 'S3 PUT → trigger → function → derived PUT', figure: eventsPerSecond, unit: 'events/s', referenceName: 'node:vm same handler, in process', referenceFigure: vmPerSecond, higherIsBetter: true,
        note: `${derived}/${events} delivered; S3 PUTs alone ran at ${putsPerSecond.toFixed(0)}/s in the same run` },
    ];
  } finally {
    lambda.destroy();
    s3.destroy();
    await cairn.stop();
    await removeDataDir(cairn.dataDir);
  }
}
