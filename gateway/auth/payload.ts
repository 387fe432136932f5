// From a verified request's payload mode to the stream the body must pass through.
// Spec: S3 API Reference, "Authenticating Requests: Using the Authorization Header"
// (x-amz-content-sha256 values) and the chunked-upload pages (x-amz-decoded-content-length,
// x-amz-trailer).

import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../s3-errors.js';
import { AwsChunkedDecoder, type AwsChunkedMode } from './aws-chunked.js';
import type { RequestHeaders } from './sigv4-canonical.js';
import type { PayloadMode } from './sigv4-verify.js';

/** Passes bytes through; at the end the SHA-256 of everything must equal `expectedHex`, else
 *  the stream fails with XAmzContentSHA256Mismatch (the body was not what was signed). */
export class Sha256VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly expectedHex: string;

  constructor(expectedHex: string) {
    super();
    this.expectedHex = expectedHex.toLowerCase();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedHex) {
      callback(new S3Error('XAmzContentSHA256Mismatch', undefined, { extra: { ClientComputedContentSHA256: this.expectedHex, S3ComputedContentSHA256: actual } }));
      return;
    }
    callback();
  }
}

function headerText(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : typeof value === 'string' ? value : value.join(',');
}

export function awsChunkedModeFor(payload: PayloadMode): AwsChunkedMode | undefined {
  if (payload.kind === 'streaming-signed') return { ...payload, kind: 'signed' };
  if (payload.kind === 'streaming-unsigned-trailer') return { kind: 'unsigned-trailer' };
  return undefined;
}

/**
 * The Transform the raw body must be piped through for this payload mode: a PassThrough for
 * UNSIGNED-PAYLOAD, a Sha256VerifyingStream for a hex hash, an AwsChunkedDecoder for the
 * STREAMING-* forms (x-amz-decoded-content-length required, x-amz-trailer names the trailers).
 * The output is the object's bytes; commit nothing until it ends without error.
 */
export function bodyDecoderFor(payload: PayloadMode, headers: RequestHeaders): Transform {
  if (payload.kind === 'unsigned') return new PassThrough();
  if (payload.kind === 'sha256') return new Sha256VerifyingStream(payload.hex);
  const mode = awsChunkedModeFor(payload)!;
  const lengthText = headerText(headers, 'x-amz-decoded-content-length');
  if (lengthText === undefined) throw new S3Error('MissingContentLength', 'Streaming uploads must send x-amz-decoded-content-length.');
  if (!/^\d{1,16}$/.test(lengthText.trim()) || !Number.isSafeInteger(Number(lengthText))) {
    throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length.', { extra: { ArgumentName: 'x-amz-decoded-content-length' } });
  }
  const trailerText = headerText(headers, 'x-amz-trailer');
  const declaredTrailers = trailerText === undefined ? [] : trailerText.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  const trailerExpected = mode.kind === 'unsigned-trailer' || mode.trailer;
  if (trailerExpected !== declaredTrailers.length > 0) {
    throw new S3Error('InvalidRequest', trailerExpected ? 'x-amz-trailer must name the trailer for a *-TRAILER payload.' : 'x-amz-trailer requires a *-TRAILER x-amz-content-sha256.');
  }
  return new AwsChunkedDecoder({ mode, decodedContentLength: Number(lengthText), declaredTrailers });
}
