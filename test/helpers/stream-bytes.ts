// Seeded random bodies streamed in pieces, so a test can PUT hundreds of MiB without holding
// them in memory, and hash what it sent and what came back.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { seededBytes } from './s3-client.js';

const pieceBytes = 1024 * 1024;

/** `length` bytes of the stream for `seed`; `insertAt` places one extra byte (0x5a) there. */
export function seededStream(seed: number, length: number, insertAt?: number): Readable {
  return Readable.from(seededPieces(seed, length, insertAt));
}

export function* seededPieces(seed: number, length: number, insertAt?: number): Generator<Buffer> {
  let emitted = 0;
  for (let index = 0; emitted < length; index++) {
    const size = Math.min(pieceBytes, length - emitted);
    let piece = seededBytes(seed * 100_003 + index, size);
    if (insertAt !== undefined && insertAt >= emitted && insertAt < emitted + size) {
      const at = insertAt - emitted;
      piece = Buffer.concat([piece.subarray(0, at), Buffer.from([0x5a]), piece.subarray(at)]);
    }
    emitted += size;
    yield piece;
  }
}

export function sha256Of(pieces: Iterable<Buffer>): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}

export async function sha256OfStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of stream) hash.update(piece);
  return hash.digest('hex');
}
