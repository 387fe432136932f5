// Raw S3 requests for bad-input tests: signed with the SDK's own signer (@smithy/signature-v4), sent
// with node:http (fetch forbids Host/Content-Length games) or node:net (bytes exactly as given).
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from './sha256.js';
import type { CairnProcess } from './cairn-process.js';

export interface RawRequest {
  method: string;
  /** Encoded path, e.g. /bucket/some%20key. */
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The <Code> of an S3 XML error body, if there is one. */
  code: string | undefined;
}

export interface SignOptions {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Hashed into x-amz-content-sha256 unless `payloadHash` says otherwise. */
  body?: Buffer;
  payloadHash?: string;
  signingDate?: Date;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export async function signRequest(cairn: CairnProcess, options: SignOptions): Promise<RawRequest> {
  const url = new URL(cairn.endpoint);
  const credentials = options.credentials ?? { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey };
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials, sha256: Sha256 as never, uriEscapePath: false });
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': options.payloadHash ?? sha256Hex(options.body ?? Buffer.alloc(0)),
    ...options.headers,
  };
  const signed = await signer.sign({
    method: options.method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: options.path,
    query: options.query ?? {}, headers,
  }, { signingDate: options.signingDate ?? new Date() });
  return { method: options.method, path: options.path, query: options.query, headers: signed.headers as Record<string, string> };
}

function pathWithQuery(request: RawRequest): string {
  const query = new URLSearchParams(request.query ?? {}).toString().replace(/\+/g, '%20');
  return query === '' ? request.path : `${request.path}?${query}`;
}

export function codeOf(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** Sends with node:http; `body` undefined sends no body and no Content-Length unless given. */
export function sendRaw(cairn: CairnProcess, request: RawRequest, body?: Buffer): Promise<RawResponse> {
  const url = new URL(cairn.endpoint);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({
      host: url.hostname, port: Number(url.port), method: request.method, path: pathWithQuery(request), headers: request.headers,
      agent: false, timeout: 30_000,
    }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('end', () => {
        const text = Buffer.concat(pieces).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, code: codeOf(text) });
      });
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('raw request timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export async function signedSend(cairn: CairnProcess, options: SignOptions): Promise<RawResponse> {
  const body = options.body;
  const headers = { ...options.headers };
  if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  return sendRaw(cairn, await signRequest(cairn, { ...options, headers }), body);
}

/**
 * Writes the request head and `body` over a plain socket, then half-closes, and returns whatever
 * the server answered before closing (possibly nothing: a server may drop a broken request).
 */
export function sendOverSocket(cairn: CairnProcess, request: RawRequest, body: Buffer): Promise<string> {
  const url = new URL(cairn.endpoint);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const pieces: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 20_000);
    socket.on('data', (piece: Buffer) => pieces.push(piece));
    socket.on('error', (error: NodeJS.ErrnoException) => { if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error); });
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(pieces).toString('utf8')); });
    socket.on('connect', () => {
      const lines = [`${request.method} ${pathWithQuery(request)} HTTP/1.1`, ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`), 'connection: close'];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      socket.end(body);
    });
  });
}

/** The SigV4 signing key and scope of a request signed now by signRequest (for chunk signatures). */
export function signingMaterial(secretAccessKey: string, amzDate: string): { signingKey: Buffer; scope: string } {
  const date = amzDate.slice(0, 8);
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), 'us-east-1'), 's3'), 'aws4_request');
  return { signingKey, scope: `${date}/us-east-1/s3/aws4_request` };
}

/** STREAMING-AWS4-HMAC-SHA256-PAYLOAD framing, built by hand (S3 API Reference, "Signature
 *  Calculations for the Authorization Header: Transferring Payload in Multiple Chunks"). */
export function signedChunkedBody(chunks: Buffer[], seedSignature: string, amzDate: string, material: { signingKey: Buffer; scope: string }): Buffer {
  const parts: Buffer[] = [];
  let previous = seedSignature;
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, material.scope, previous, sha256Hex(''), sha256Hex(chunk)].join('\n');
    previous = createHmac('sha256', material.signingKey).update(toSign).digest('hex');
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), chunk, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** The 'Signature=…' of a signed request's Authorization header. */
export function seedSignatureOf(request: RawRequest): string {
  const match = /Signature=([0-9a-f]{64})/.exec(request.headers.authorization ?? request.headers.Authorization ?? '');
  if (!match) throw new Error('request is not header-signed');
  return match[1];
}
