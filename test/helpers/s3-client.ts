import { S3Client } from '@aws-sdk/client-s3';
import type { CairnProcess } from './cairn-process.js';

/** The real SDK, with its default checksum behaviour (aws-chunked bodies with CRC32 trailers). */
export function s3ClientFor(cairn: Pick<CairnProcess, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>, credentials?: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({
    endpoint: cairn.endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: credentials ?? { accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey },
    maxAttempts: 1,
  });
}

/** Seeded random bytes (tests never use zeros: they dedup and compress below the file system). */
export function seededBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let offset = 0; offset < length; offset += 4) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    if (offset + 4 <= length) out.writeUInt32LE(state, offset);
    else for (let i = offset; i < length; i++) out[i] = (state >>> ((i - offset) * 8)) & 0xff;
  }
  return out;
}
