// Method: a real `cairn serve` child; an S3 bucket notification (set with @aws-sdk/client-s3)
// makes object creations invoke a function that reads the new object and writes a derived one
// through S3 with its per-invocation scoped credentials (seed 7), which refuse other buckets.
// Then kill -9 with events still queued: after a restart on the same data every event is
// delivered (the queue record is committed in the same batch as the object).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, GetObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateFunctionCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { s3ClientFor } from './helpers/s3-client.js';
import { lambdaClientFor, role, zipOf } from './helpers/lambda.js';

let cairn: CairnProcess;
let s3: S3Client;
let lambda: LambdaClient;

const thumbnailer = `
exports.handler = async (event) => {
  const record = event.Records[0];
  if (record.eventVersion !== '2.1' || record.eventSource !== 'aws:s3') throw new Error('not an S3 event');
  const bucket = record.s3.bucket.name;
  const key = decodeURIComponent(record.s3.object.key.replace(/\\+/g, ' '));
  if (process.env.DELAY_MS) await new Promise((resolve) => setTimeout(resolve, Number(process.env.DELAY_MS)));
  const source = await cairn.s3.getObject({ Bucket: bucket, Key: key });
  let other = 'allowed';
  try { await cairn.s3.getObject({ Bucket: 'elsewhere', Key: 'secret' }); } catch (error) { other = error.name; }
  const body = JSON.stringify({ upper: source.Body.toUpperCase(), size: record.s3.object.size, keyPrefix: process.env.AWS_ACCESS_KEY_ID.slice(0, 2), other });
  await cairn.s3.putObject({ Bucket: bucket, Key: 'derived/' + key, Body: body, ContentType: 'application/json' });
  return 'ok';
};`;

async function textOf(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await got.Body!.transformToString();
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function waitFor(client: S3Client, bucket: string, key: string, rounds = 150): Promise<string> {
  for (let round = 0; round < rounds; round++) {
    const text = await textOf(client, bucket, key);
    if (text !== undefined) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${key} never appeared`);
}

async function setUp(name: string, delayMs: number): Promise<void> {
  const created = await lambda.send(new CreateFunctionCommand({
    FunctionName: name, Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Timeout: 10,
    Code: { ZipFile: zipOf({ 'index.js': thumbnailer }) }, Environment: { Variables: { DELAY_MS: String(delayMs) } },
  }));
  return void created;
}

beforeAll(async () => {
  cairn = await startCairn();
  s3 = s3ClientFor(cairn);
  lambda = lambdaClientFor(cairn);
  await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'elsewhere' }));
  await s3.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'secret', Body: 'top secret' }));
  await setUp('thumbs', 0);
  await setUp('slow', 2000);
  const arn = (name: string) => `arn:aws:lambda:us-east-1:${'0'.repeat(12)}:function:${name}`.replace('0'.repeat(12), account);
  const account = (await lambda.send(new CreateFunctionCommand({ FunctionName: 'probe', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': 'exports.handler = () => 1;' }) } }))).FunctionArn!.split(':')[4];
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'photos', NotificationConfiguration: { LambdaFunctionConfigurations: [
    { Id: 'thumbs', LambdaFunctionArn: arn('thumbs'), Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } } },
    { Id: 'slow', LambdaFunctionArn: arn('slow'), Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'crash/' }, { Name: 'suffix', Value: '.txt' }] } } },
  ] } }));
});

afterAll(async () => {
  s3?.destroy();
  lambda?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

describe('S3 bucket notifications invoke functions', () => {
  it('derives an object through S3 with credentials scoped to the trigger bucket', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'uploads/hello world.txt', Body: 'hello from s3' }));
    const derived = JSON.parse(await waitFor(s3, 'photos', 'derived/uploads/hello world.txt'));
    expect(derived).toEqual({ upper: 'HELLO FROM S3', size: 13, keyPrefix: 'CT', other: 'AccessDenied' });
    // Objects outside the filter fire nothing.
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'elsewhere/x.txt', Body: 'ignored' }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await textOf(s3, 'photos', 'derived/elsewhere/x.txt')).toBeUndefined();
  });

  it('delivers every queued event after kill -9 and a restart', async () => {
    const count = 12;
    for (let index = 0; index < count; index++) {
      await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: `crash/item-${index}.txt`, Body: `item ${index}` }));
    }
    // The function sleeps 2 s first: nothing is delivered yet when the node dies.
    expect(await textOf(s3, 'photos', 'derived/crash/item-0.txt')).toBeUndefined();
    await cairn.kill();
    s3.destroy();
    lambda.destroy();
    cairn = await startCairn({ dataDir: cairn.dataDir });
    s3 = s3ClientFor(cairn);
    lambda = lambdaClientFor(cairn);
    for (let index = 0; index < count; index++) {
      const derived = JSON.parse(await waitFor(s3, 'photos', `derived/crash/item-${index}.txt`));
      expect(derived.upper).toBe(`ITEM ${index}`);
    }
  });
});
