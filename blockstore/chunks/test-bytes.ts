// Test data shared by the conformance suite, the crash child and the bench.
import { createHash } from 'node:crypto';

/** Deterministic incompressible test bytes (never zeros, LIMITS.md): xorshift32 from a seed hash. */
export function chunkBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length + 3);
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0) | 1;
  for (let offset = 0; offset < length; offset += 4) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    out.writeInt32LE(state | 0, offset);
  }
  return out.subarray(0, length);
}
