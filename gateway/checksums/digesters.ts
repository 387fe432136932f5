// One running digest per algorithm: the piece shared by ChecksumSet (in the request's thread) and
// the digest worker (digest-worker.ts), so both compute byte-identical results by one code path.
// Kept free of S3 error rendering so the worker loads only node:crypto, node:zlib and crc.ts.

import { createHash, type Hash } from 'node:crypto';
import { Crc32, Crc32c, Crc64Nvme, type RunningCrc } from './crc.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256' | 'MD5';

function hashDigester(name: string): RunningCrc {
  const hash: Hash = createHash(name);
  return { update: (data) => void hash.update(data), digest: () => hash.digest() };
}

export function digesterFor(algorithm: ChecksumAlgorithm): RunningCrc {
  switch (algorithm) {
    case 'CRC32': return new Crc32();
    case 'CRC32C': return new Crc32c();
    case 'CRC64NVME': return new Crc64Nvme();
    case 'SHA1': return hashDigester('sha1');
    case 'SHA256': return hashDigester('sha256');
    case 'MD5': return hashDigester('md5');
  }
}
