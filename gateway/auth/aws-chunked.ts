// Streaming decoder for `Content-Encoding: aws-chunked` bodies.
// Spec: S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
// Payload in Multiple Chunks (Chunked Upload)" (signed chunks and their signature chain) and
// "… Including Trailing Headers (Chunked Upload)" (trailers, x-amz-trailer-signature); the
// unsigned-trailer form (STREAMING-UNSIGNED-PAYLOAD-TRAILER) is the same framing without
// ";chunk-signature=".
//
//   signed:   hex-size;chunk-signature=<64 hex>\r\n <data> \r\n … 0;chunk-signature=<sig>\r\n
//             [trailer-name:value\r\n … x-amz-trailer-signature:<sig>\r\n] \r\n
//   unsigned: hex-size\r\n <data> \r\n … 0\r\n [trailer-name:value\r\n …] \r\n
//
// Memory is bounded: chunk data is never buffered (it is hashed as it passes), and a header or
// trailer line may be at most awsChunkedLineBytesMax. Data is emitted before its chunk signature
// is checked, so a consumer must not commit anything until this stream ends without error —
// the same rule as for a truncated body.

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { assert } from '../../dedup/errors.js';
import { S3Error } from '../s3-errors.js';
import { awsChunkedChunkBytesMax, awsChunkedLineBytesMax, awsChunkedTrailersCountMax } from './limits.js';
import { emptySha256Hex, hmacSha256, sha256Hex, signaturesEqual } from './sigv4-canonical.js';

export type AwsChunkedMode =
  | {
      readonly kind: 'signed';
      readonly seedSignature: string;
      readonly signingKey: Buffer;
      readonly scope: string;
      readonly amzDate: string;
      readonly trailer: boolean;
    }
  | { readonly kind: 'unsigned-trailer' };

export interface AwsChunkedOptions {
  readonly mode: AwsChunkedMode;
  /** x-amz-decoded-content-length: the decoded byte count must equal it. */
  readonly decodedContentLength: number;
  /** Lowercase names from the x-amz-trailer header; each must arrive, no other may. */
  readonly declaredTrailers?: readonly string[];
}

type State = 'header' | 'data' | 'data-end' | 'trailer' | 'done';

const signedHeaderPattern = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/;
const unsignedHeaderPattern = /^([0-9a-fA-F]{1,16})$/;
const trailerPattern = /^([A-Za-z0-9-]{1,128}):(.*)$/;
const trailerSignatureName = 'x-amz-trailer-signature';

function framing(message: string): S3Error {
  return new S3Error('InvalidArgument', `aws-chunked body: ${message}`);
}

export class AwsChunkedDecoder extends Transform {
  private readonly options: AwsChunkedOptions;
  private state: State = 'header';
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  private chunkRemaining = 0;
  private dataEndSeen = 0; // bytes of the CRLF after chunk data seen so far
  private chunkHash: Hash | undefined;
  private chunkSignature = '';
  private previousSignature: string;
  private decodedBytes = 0;
  private readonly trailerMap = new Map<string, string>();
  private trailerSignature: string | undefined;

  constructor(options: AwsChunkedOptions) {
    super();
    assert(Number.isSafeInteger(options.decodedContentLength) && options.decodedContentLength >= 0, 'decodedContentLength must be a non-negative integer');
    this.options = options;
    this.previousSignature = options.mode.kind === 'signed' ? options.mode.seedSignature : '';
  }

  /** Trailers received (lowercase names, x-amz-trailer-signature excluded); complete once the stream has ended. */
  get trailers(): ReadonlyMap<string, string> {
    return this.trailerMap;
  }

  override _transform(input: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(input);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done') {
      callback(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk and trailer section.'));
      return;
    }
    assert(this.decodedBytes === this.options.decodedContentLength, 'final length is checked when the final chunk arrives');
    callback();
  }

  private consume(input: Buffer): void {
    let offset = 0;
    while (offset < input.length) {
      switch (this.state) {
        case 'header':
        case 'trailer':
          offset = this.consumeLine(input, offset);
          break;
        case 'data': {
          const take = Math.min(this.chunkRemaining, input.length - offset);
          const piece = input.subarray(offset, offset + take);
          this.chunkHash?.update(piece);
          this.push(piece);
          this.chunkRemaining -= take;
          offset += take;
          if (this.chunkRemaining === 0) this.state = 'data-end';
          break;
        }
        case 'data-end': {
          const expected = this.dataEndSeen === 0 ? 0x0d : 0x0a;
          if (input[offset] !== expected) throw framing('chunk data is not followed by CRLF');
          offset++;
          this.dataEndSeen++;
          if (this.dataEndSeen === 2) this.endChunk();
          break;
        }
        case 'done':
          throw framing('unexpected bytes after the final chunk');
      }
    }
  }

  /** Accumulates one CRLF-terminated line (bounded) and dispatches it; returns the new offset. */
  private consumeLine(input: Buffer, offset: number): number {
    const newline = input.indexOf(0x0a, offset);
    const end = newline < 0 ? input.length : newline + 1;
    this.lineBytes += end - offset;
    if (this.lineBytes > awsChunkedLineBytesMax) throw framing('header or trailer line too long');
    if (newline < 0) {
      this.lineParts.push(input.subarray(offset, end));
      return end;
    }
    // One chunk header per aws-chunk (64 KiB for the SDK): a line within one input piece, the
    // usual case, is read in place; only a line split across pieces is joined.
    const tail = input.subarray(offset, end);
    const line = this.lineParts.length === 0 ? tail : Buffer.concat([...this.lineParts, tail], this.lineBytes);
    this.lineParts = [];
    this.lineBytes = 0;
    if (line.length < 2 || line[line.length - 2] !== 0x0d) throw framing('line does not end with CRLF');
    const text = line.toString('latin1', 0, line.length - 2);
    if (this.state === 'header') this.startChunk(text);
    else this.trailerLine(text);
    return end;
  }

  private startChunk(text: string): void {
    const signed = this.options.mode.kind === 'signed';
    const match = (signed ? signedHeaderPattern : unsignedHeaderPattern).exec(text);
    if (match === null) throw framing(`malformed chunk header "${text.slice(0, 120)}"`);
    const size = Number.parseInt(match[1]!, 16);
    if (size > awsChunkedChunkBytesMax) throw framing(`chunk of ${size} bytes exceeds ${awsChunkedChunkBytesMax}`);
    if (this.decodedBytes + size > this.options.decodedContentLength) {
      throw new S3Error('IncompleteBody', 'The aws-chunked body is longer than x-amz-decoded-content-length.');
    }
    this.decodedBytes += size;
    this.chunkSignature = match[2] ?? '';
    if (size === 0) {
      // The final, empty chunk is signed like any other (hash of the empty string).
      if (signed) this.verifyChunk(emptySha256Hex);
      if (this.decodedBytes !== this.options.decodedContentLength) {
        throw new S3Error('IncompleteBody', 'The aws-chunked body is shorter than x-amz-decoded-content-length.');
      }
      this.state = 'trailer';
      return;
    }
    this.chunkRemaining = size;
    this.chunkHash = signed ? createHash('sha256') : undefined;
    this.state = 'data';
  }

  private endChunk(): void {
    this.dataEndSeen = 0;
    if (this.chunkHash !== undefined) this.verifyChunk(this.chunkHash.digest('hex'));
    this.chunkHash = undefined;
    this.state = 'header';
  }

  // Chunk string to sign: "AWS4-HMAC-SHA256-PAYLOAD" \n amzDate \n scope \n previous-signature
  // \n hex(sha256("")) \n hex(sha256(chunk-data)); the seed is the Authorization signature.
  private verifyChunk(dataSha256Hex: string): void {
    const mode = this.options.mode;
    assert(mode.kind === 'signed', 'only signed chunks carry signatures');
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', mode.amzDate, mode.scope, this.previousSignature, emptySha256Hex, dataSha256Hex].join('\n');
    const expected = hmacSha256(mode.signingKey, toSign).toString('hex');
    if (!signaturesEqual(expected, this.chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature does not match the signature calculated for the chunk.');
    }
    this.previousSignature = expected;
  }

  private trailerLine(text: string): void {
    if (text === '') {
      this.endTrailers();
      return;
    }
    if (this.trailerSignature !== undefined) throw new S3Error('MalformedTrailerError', 'x-amz-trailer-signature must be the last trailer.');
    const match = trailerPattern.exec(text);
    if (match === null) throw new S3Error('MalformedTrailerError', 'A trailer line is not "name:value".');
    const name = match[1]!.toLowerCase();
    const value = match[2]!.trim();
    if (name === trailerSignatureName) {
      this.trailerSignature = value;
      return;
    }
    if (this.trailerMap.has(name) || this.trailerMap.size >= awsChunkedTrailersCountMax) {
      throw new S3Error('MalformedTrailerError', 'Trailer repeated or too many trailers.');
    }
    this.trailerMap.set(name, value);
  }

  private endTrailers(): void {
    const mode = this.options.mode;
    const trailerExpected = mode.kind === 'unsigned-trailer' || mode.trailer;
    if (!trailerExpected && this.trailerMap.size + (this.trailerSignature === undefined ? 0 : 1) > 0) {
      throw new S3Error('MalformedTrailerError', 'Trailers were sent but x-amz-content-sha256 declared none.');
    }
    for (const name of this.options.declaredTrailers ?? []) {
      if (!this.trailerMap.has(name)) throw new S3Error('MalformedTrailerError', `The declared trailer ${name} was not sent.`);
    }
    for (const name of this.trailerMap.keys()) {
      if (!(this.options.declaredTrailers ?? []).includes(name)) throw new S3Error('MalformedTrailerError', `The trailer ${name} was not declared in x-amz-trailer.`);
    }
    if (mode.kind === 'signed' && mode.trailer) this.verifyTrailerSignature(mode);
    else if (this.trailerSignature !== undefined) throw new S3Error('MalformedTrailerError', 'Unsigned payloads carry no x-amz-trailer-signature.');
    this.state = 'done';
  }

  // Trailer string to sign: "AWS4-HMAC-SHA256-TRAILER" \n amzDate \n scope \n signature of the
  // final chunk \n hex(sha256 of the trailers as "name:value\n" each).
  private verifyTrailerSignature(mode: Extract<AwsChunkedMode, { kind: 'signed' }>): void {
    const signature = this.trailerSignature;
    if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature is missing or malformed.');
    }
    let canonical = '';
    for (const [name, value] of this.trailerMap) canonical += `${name}:${value}\n`;
    const toSign = ['AWS4-HMAC-SHA256-TRAILER', mode.amzDate, mode.scope, this.previousSignature, sha256Hex(canonical)].join('\n');
    const expected = hmacSha256(mode.signingKey, toSign).toString('hex');
    if (!signaturesEqual(expected, signature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature does not match the signature calculated for the trailers.');
    }
  }
}
