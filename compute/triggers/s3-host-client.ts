// The host side of cairn.s3.getObject/putObject: signed S3 requests (SigV4, AWS General
// Reference "Signature Version 4 signing process") to Cairn's own S3 endpoint with the
// invocation's scoped credentials, so the gateway's ordinary auth and scope check apply.
import { createHash, createHmac } from 'node:crypto';
import { hostObjectBytesMax } from '../limits.js';
import type { HostServices } from '../scheduler/invocation.js';

export interface S3Target {
  endpoint: string;   // http://127.0.0.1:port
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const encodeSegment = (segment: string): string => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export async function signedS3Request(target: S3Target, method: 'GET' | 'PUT', bucket: string, key: string, body?: Buffer, contentType?: string): Promise<Response> {
  const url = new URL(target.endpoint);
  const path = `/${encodeSegment(bucket)}/${key.split('/').map(encodeSegment).join('/')}`;
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(body ?? Buffer.alloc(0));
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = [method, path, '', ...signedHeaders.map((name) => `${name}:${headers[name]}`), '', signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${date}/${target.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${target.secretAccessKey}`, date), target.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${target.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  const { host: _host, ...sent } = headers;
  return fetch(`${url.origin}${path}`, {
    method, body: body ? new Uint8Array(body) : undefined, headers: { ...sent, authorization, ...(contentType ? { 'content-type': contentType } : {}) },
  });
}

function s3Failure(status: number, text: string): Error {
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
  const error = new Error(message);
  error.name = code;
  return error;
}

interface ObjectParams { Bucket?: unknown; Key?: unknown; Body?: unknown; ContentType?: unknown; Encoding?: unknown }

function bucketAndKey(params: ObjectParams): { bucket: string; key: string } {
  if (typeof params?.Bucket !== 'string' || typeof params?.Key !== 'string') throw Object.assign(new Error('Bucket and Key must be strings'), { name: 'InvalidParameterType' });
  return { bucket: params.Bucket, key: params.Key };
}

/** cairn.s3 for one invocation: bodies are strings (UTF-8, or base64 with Encoding:'base64'). */
export function s3HostServices(target: S3Target): HostServices {
  return {
    async call(op, args) {
      const params = (args ?? {}) as ObjectParams;
      const { bucket, key } = bucketAndKey(params);
      const base64 = params.Encoding === 'base64';
      if (op === 's3.getObject') {
        const response = await signedS3Request(target, 'GET', bucket, key);
        const bytes = Buffer.from(await response.arrayBuffer());
        if (!response.ok) throw s3Failure(response.status, bytes.toString('utf8'));
        if (bytes.length > hostObjectBytesMax) throw Object.assign(new Error(`object larger than ${hostObjectBytesMax} bytes`), { name: 'EntityTooLarge' });
        return { Body: bytes.toString(base64 ? 'base64' : 'utf8'), ContentLength: bytes.length, ContentType: response.headers.get('content-type'), ETag: response.headers.get('etag') };
      }
      if (op === 's3.putObject') {
        if (typeof params.Body !== 'string') throw Object.assign(new Error('Body must be a string'), { name: 'InvalidParameterType' });
        const body = Buffer.from(params.Body, base64 ? 'base64' : 'utf8');
        if (body.length > hostObjectBytesMax) throw Object.assign(new Error(`body larger than ${hostObjectBytesMax} bytes`), { name: 'EntityTooLarge' });
        const response = await signedS3Request(target, 'PUT', bucket, key, body, typeof params.ContentType === 'string' ? params.ContentType : undefined);
        const text = await response.text();
        if (!response.ok) throw s3Failure(response.status, text);
        return { ETag: response.headers.get('etag') };
      }
      throw Object.assign(new Error(`unknown host operation ${op}`), { name: 'InvalidOperation' });
    },
  };
}
