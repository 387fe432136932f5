// Method: one real `cairn serve` child and two users (root and one made through the admin API),
// driven with @aws-sdk/client-lambda and S3 plus SigV4-signed raw requests for Cairn's own routes
// (cairn-warm, cairn-failed-events) and for the X-Cairn-Environment-Start header. Covers what
// issue 6 promises beyond the happy path: tenant isolation, Event invocations that really run,
// failed trigger events kept and listable, warm-ups that make the next calls restore-free, and a
// restarted node keeping functions, versions and aliases. Nothing depends on timing: side effects
// are polled for, and "restore-free" is the scheduler's per-call flag, not a latency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAliasCommand, CreateFunctionCommand, DeleteFunctionCommand, GetAliasCommand, GetFunctionCommand, InvokeCommand,
  ListFunctionsCommand, ListVersionsByFunctionCommand, PublishVersionCommand, PutFunctionConcurrencyCommand,
  UpdateFunctionCodeCommand, type LambdaClient,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { adminCall } from './helpers/admin.js';
import { decode, lambdaClientFor, role, zipOf } from './helpers/lambda.js';
import { s3ClientFor } from './helpers/s3-client.js';
import { Sha256 } from './helpers/sha256.js';

interface Credentials { accessKeyId: string; secretAccessKey: string }

let cairn: CairnProcess;
let lambda: LambdaClient;
let other: LambdaClient;
let otherCredentials: Credentials;
let s3: S3Client;
let account: string;

const create = (client: LambdaClient, name: string, source: string) => client.send(new CreateFunctionCommand({
  FunctionName: name, Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': source }) },
}));

/** A SigV4 ('lambda') request to the node's Lambda port; answers status, headers and parsed JSON. */
async function lambdaRaw(method: string, path: string, options: { query?: Record<string, string>; body?: string; credentials?: Credentials } = {}) {
  const url = new URL(path, cairn.lambdaEndpoint);
  const signer = new SignatureV4({ service: 'lambda', region: 'us-east-1', sha256: Sha256 as never, credentials: options.credentials ?? { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey } });
  const signed = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: options.query ?? {},
    headers: { host: url.host, 'content-type': 'application/json' }, body: options.body ?? '',
  });
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const response = await fetch(url, { method, headers: signed.headers as Record<string, string>, body: options.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) as Record<string, unknown> : undefined };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  cairn = await startCairn();
  lambda = lambdaClientFor(cairn);
  s3 = s3ClientFor(cairn);
  otherCredentials = await adminCall<Credentials>(cairn, 'POST', '/users', { name: 'mallory' });
  other = lambdaClientFor(cairn, otherCredentials);
  account = (await create(lambda, 'owned', 'exports.handler = async () => "mine";')).FunctionArn!.split(':')[4];
});

afterAll(async () => {
  lambda?.destroy();
  other?.destroy();
  s3?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

describe('Lambda tenancy, async invocations, warm-ups and restarts', () => {
  it("another user can neither see, invoke nor delete a function it doesn't own", async () => {
    const arn = `arn:aws:lambda:us-east-1:${account}:function:owned`;
    await expect(other.send(new GetFunctionCommand({ FunctionName: 'owned' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(other.send(new InvokeCommand({ FunctionName: 'owned' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(other.send(new InvokeCommand({ FunctionName: arn }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(other.send(new DeleteFunctionCommand({ FunctionName: arn }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(other.send(new DeleteFunctionCommand({ FunctionName: 'owned' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect((await other.send(new ListFunctionsCommand({}))).Functions ?? []).toEqual([]);
    // The other user's function of the same name is its own, and the owner's is untouched.
    await create(other, 'owned', 'exports.handler = async () => "theirs";');
    expect(decode((await other.send(new InvokeCommand({ FunctionName: 'owned' }))).Payload)).toBe('theirs');
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: arn }))).Payload)).toBe('mine');
  });

  it('runs an Event invocation: its side effect becomes visible to a later call', async () => {
    await create(lambda, 'tally', 'const seen = []; exports.handler = async (event) => { if (event.tag) seen.push(event.tag); return seen; };');
    // One environment only, so the state the Event call leaves is what the next call reads.
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'tally', ReservedConcurrentExecutions: 1 }));
    const queued = await lambda.send(new InvokeCommand({ FunctionName: 'tally', InvocationType: 'Event', Payload: Buffer.from(JSON.stringify({ tag: 'async-1' })) }));
    expect(queued.StatusCode).toBe(202);
    const seen = await until('the Event invocation to run', async () => {
      const list = decode((await lambda.send(new InvokeCommand({ FunctionName: 'tally', Payload: Buffer.from('{}') }))).Payload) as string[];
      return list.includes('async-1') ? list : undefined;
    });
    expect(seen).toEqual(['async-1']);
  });

  it('a reserved concurrency of 0 throttles every invocation with TooManyRequestsException', async () => {
    await create(lambda, 'throttled', 'exports.handler = async () => "ran";');
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'throttled', ReservedConcurrentExecutions: 0 }));
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'throttled' }))).rejects.toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'throttled', ReservedConcurrentExecutions: 2 }));
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'throttled' }))).Payload)).toBe('ran');
  });

  it('keeps the events of a trigger whose function always throws in the failed-events list', async () => {
    await create(lambda, 'thrower', 'exports.handler = async () => { throw new Error("always broken"); };');
    await s3.send(new CreateBucketCommand({ Bucket: 'failing' }));
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'failing', NotificationConfiguration: { LambdaFunctionConfigurations: [
      { LambdaFunctionArn: `arn:aws:lambda:us-east-1:${account}:function:thrower`, Events: ['s3:ObjectCreated:*'] },
    ] } }));
    await s3.send(new PutObjectCommand({ Bucket: 'failing', Key: 'doomed.txt', Body: 'x' }));
    const failed = await until('the event to be given up', async () => {
      const listed = (await lambdaRaw('GET', '/2015-03-31/cairn-failed-events')).json as { FailedEvents: Record<string, unknown>[] };
      return listed.FailedEvents.find((event) => event.FunctionName === 'thrower');
    });
    expect(failed).toMatchObject({ Kind: 's3', Attempts: 3 });
    expect(String(failed.LastError)).toContain('always broken');
    expect(JSON.parse(String(failed.Payload)).Records[0].s3.object.key).toBe('doomed.txt');
    const theirs = (await lambdaRaw('GET', '/2015-03-31/cairn-failed-events', { credentials: otherCredentials })).json as { FailedEvents: unknown[] };
    expect(theirs.FailedEvents).toEqual([]);
  });

  it('cairn-warm?count=N makes the next N concurrent invocations restore-free', async () => {
    await create(lambda, 'warmed', 'exports.handler = async (event) => event.n;');
    const warmed = await lambdaRaw('PUT', '/2015-03-31/functions/warmed/cairn-warm', { query: { count: '4' } });
    expect(warmed.status).toBe(200);
    expect(warmed.json).toMatchObject({ FunctionName: 'warmed', Version: '$LATEST' });
    expect(warmed.json!.WarmEnvironments).toBeGreaterThanOrEqual(4);
    const calls = await Promise.all([0, 1, 2, 3].map((n) => lambdaRaw('POST', '/2015-03-31/functions/warmed/invocations', { body: JSON.stringify({ n }) })));
    expect(calls.map((call) => call.json)).toEqual([0, 1, 2, 3]);
    expect(calls.map((call) => call.headers.get('x-cairn-environment-start'))).toEqual(['warm', 'warm', 'warm', 'warm']);
  });

  it('a restarted node keeps functions, versions and aliases', async () => {
    await create(lambda, 'durable', 'exports.handler = async () => "v1";');
    const published = await lambda.send(new PublishVersionCommand({ FunctionName: 'durable' }));
    await lambda.send(new CreateAliasCommand({ FunctionName: 'durable', Name: 'live', FunctionVersion: published.Version }));
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'durable', ZipFile: zipOf({ 'index.js': 'exports.handler = async () => "v2";' }) }));
    await cairn.stop();
    lambda.destroy();
    other.destroy();
    s3.destroy();
    cairn = await startCairn({ dataDir: cairn.dataDir });
    lambda = lambdaClientFor(cairn);
    other = lambdaClientFor(cairn, otherCredentials);
    s3 = s3ClientFor(cairn);
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'durable' }))).Configuration?.FunctionName).toBe('durable');
    const versions = (await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'durable' }))).Versions?.map((version) => version.Version);
    expect(versions).toEqual(['$LATEST', published.Version]);
    expect((await lambda.send(new GetAliasCommand({ FunctionName: 'durable', Name: 'live' }))).FunctionVersion).toBe(published.Version);
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'durable', Qualifier: 'live' }))).Payload)).toBe('v1');
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'durable' }))).Payload)).toBe('v2');
    expect(decode((await other.send(new InvokeCommand({ FunctionName: 'owned' }))).Payload)).toBe('theirs');
  });
});
