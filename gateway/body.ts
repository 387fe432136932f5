// Request bodies as streams: aws-chunked decoding (signed or unsigned, with trailers), the
// x-amz-content-sha256 check, and the declared length. Nothing is buffered but small XML bodies.
import { pipeline } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { S3Error } from './s3-errors.js';
import { gatewayLimits } from './limits.js';
import { bodyDecoderFor } from './auth/payload.js';
import { AwsChunkedDecoder } from './auth/aws-chunked.js';
import { requestDigest } from './body-digest.js';
import { header } from './routes/context.js';
import type { AuthenticatedRequest } from './request-auth.js';
import type { BodyDigest } from './service/objects.js';
import type { ChecksumValue } from './service/records.js';

export interface RequestBody {
  body: AsyncIterable<Buffer>;
  digest: BodyDigest;
  signal: AbortSignal;
}

function declaredLength(request: FastifyRequest, streaming: boolean, maxBytes: number): number {
  const raw = streaming ? header(request, 'x-amz-decoded-content-length') : header(request, 'content-length');
  if (raw === undefined) throw new S3Error('MissingContentLength');
  if (!/^\d+$/.test(raw)) throw new S3Error('InvalidArgument', 'Content length must be a non-negative integer', { extra: { ArgumentName: streaming ? 'x-amz-decoded-content-length' : 'Content-Length' } });
  const length = Number(raw);
  if (length > maxBytes) throw new S3Error('EntityTooLarge', undefined, { extra: { ProposedSize: raw, MaxSizeAllowed: String(maxBytes) } });
  return length;
}

export function objectBody(request: FastifyRequest, auth: AuthenticatedRequest, maxBytes: number, alwaysCompute?: ChecksumValue['algorithm']): RequestBody {
  const streaming = auth.payload.kind === 'streaming-signed' || auth.payload.kind === 'streaming-unsigned-trailer';
  const length = declaredLength(request, streaming, maxBytes);
  const controller = new AbortController();
  request.raw.once('aborted', () => controller.abort());
  // The decoder verifies what the signature promised: the sha256 of the body, or every chunk's
  // signature; errors surface on it, where the for-await in checkedPieces sees them.
  const decoder = bodyDecoderFor(auth.payload, request.headers as Record<string, string | string[] | undefined>);
  pipeline(request.raw, decoder, () => {});
  const trailers = (): ReadonlyMap<string, string> => (decoder instanceof AwsChunkedDecoder ? decoder.trailers : new Map());
  const digest = requestDigest(request, trailers, length, alwaysCompute);
  return { body: checkedPieces(decoder, length, controller.signal), digest, signal: controller.signal };
}

async function* checkedPieces(source: AsyncIterable<Buffer>, length: number, aborted: AbortSignal): AsyncGenerator<Buffer> {
  let total = 0;
  try {
    for await (const piece of source) {
      total += piece.length;
      if (total > length) throw new S3Error('IncompleteBody', 'The request body is longer than its declared length.');
      yield piece;
    }
  } catch (error) {
    // A client that hangs up mid-body makes node fail the stream with "aborted" (ECONNRESET):
    // that is the client's short body, not a bug of ours to answer 500 and log.
    if (!(error instanceof S3Error) && (aborted.aborted || (error as NodeJS.ErrnoException).code === 'ECONNRESET')) {
      throw new S3Error('IncompleteBody', 'The connection closed before the request body was complete.', { cause: error });
    }
    throw error;
  }
  if (total !== length) throw new S3Error('IncompleteBody');
}

/** Small bodies (XML documents): read whole, bounded, and checked like any other body. */
export async function readSmallBody(request: FastifyRequest, auth: AuthenticatedRequest, maxBytes: number = gatewayLimits.xmlBodyBytesMax): Promise<Buffer> {
  if (header(request, 'content-length') === undefined && header(request, 'x-amz-decoded-content-length') === undefined && header(request, 'transfer-encoding') === undefined) return Buffer.alloc(0);
  const { body, digest } = objectBody(request, auth, maxBytes);
  const pieces: Buffer[] = [];
  try {
    for await (const piece of body) {
      pieces.push(piece);
      await digest.update(piece);
    }
  } catch (error) {
    digest.abandon();
    throw error;
  }
  await digest.finish();
  return Buffer.concat(pieces);
}
