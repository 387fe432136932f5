// Client-side aws-chunked encoder: the inverse of AwsChunkedDecoder, for tests and tools that
// act as a client (end-to-end tests, bench). Spec as in aws-chunked.ts.

import { createHash } from 'node:crypto';
import type { AwsChunkedMode } from './aws-chunked.js';
import { emptySha256Hex, hmacSha256 } from './sigv4-canonical.js';

export interface AwsChunkedEncodeInput {
  readonly mode: AwsChunkedMode;
  /** Data chunks in order; the final empty chunk is added here. */
  readonly chunks: readonly Uint8Array[];
  /** Trailers (lowercase names) sent after the final chunk. */
  readonly trailers?: ReadonlyArray<readonly [string, string]>;
}

export function encodeAwsChunked(input: AwsChunkedEncodeInput): Buffer {
  const { mode } = input;
  const parts: Buffer[] = [];
  let previous = mode.kind === 'signed' ? mode.seedSignature : '';
  const sign = (data: Uint8Array): string => {
    if (mode.kind !== 'signed') return '';
    const dataHash = createHash('sha256').update(data).digest('hex');
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', mode.amzDate, mode.scope, previous, emptySha256Hex, dataHash].join('\n');
    previous = hmacSha256(mode.signingKey, toSign).toString('hex');
    return `;chunk-signature=${previous}`;
  };
  for (const chunk of [...input.chunks, new Uint8Array(0)]) {
    parts.push(Buffer.from(`${chunk.length.toString(16)}${sign(chunk)}\r\n`, 'latin1'));
    if (chunk.length > 0) parts.push(Buffer.from(chunk), Buffer.from('\r\n'));
  }
  let canonical = '';
  for (const [name, value] of input.trailers ?? []) {
    parts.push(Buffer.from(`${name}:${value}\r\n`, 'latin1'));
    canonical += `${name}:${value}\n`;
  }
  if (mode.kind === 'signed' && mode.trailer) {
    const toSign = ['AWS4-HMAC-SHA256-TRAILER', mode.amzDate, mode.scope, previous, createHash('sha256').update(canonical).digest('hex')].join('\n');
    parts.push(Buffer.from(`x-amz-trailer-signature:${hmacSha256(mode.signingKey, toSign).toString('hex')}\r\n`, 'latin1'));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
