// Lambda test helpers: deployment zips built in memory (fflate) and an SDK client for a Cairn child.
import { LambdaClient } from '@aws-sdk/client-lambda';
import { zipSync, strToU8 } from 'fflate';
import type { CairnProcess } from './cairn-process.js';

export function zipOf(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
}

export function lambdaClientFor(cairn: Pick<CairnProcess, 'lambdaEndpoint' | 'accessKeyId' | 'secretAccessKey'>, credentials?: { accessKeyId: string; secretAccessKey: string }): LambdaClient {
  return new LambdaClient({
    endpoint: cairn.lambdaEndpoint, region: 'us-east-1', maxAttempts: 1,
    credentials: credentials ?? { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey },
  });
}

export const role = 'arn:aws:iam::000000000000:role/cairn-test';
export const decode = (payload: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8'));
