// A tiny seeded PRNG: the gear table and every test's random data come from it, so cut points
// and test inputs are identical on every machine. Constants are the "splitmix32" finaliser of
// the hash-prospector search (C. Wellons, 2018): a golden-ratio Weyl step, then xor-shift-
// multiply mixing. Not cryptographic; never used for keys or nonces.

export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** The next 32 random bits as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }

  /** A uniform integer in [0, bound), bound ≤ 2^32; modulo bias is below 2^-32 · bound. */
  nextBelow(bound: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * bound);
  }

  /** Fills `target` with random bytes, four at a time, little-endian (same bytes on every host). */
  fill(target: Uint8Array): Uint8Array {
    const words = target.length >>> 2;
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    for (let i = 0; i < words; i++) view.setUint32(i << 2, this.nextUint32(), true);
    for (let i = words << 2; i < target.length; i++) target[i] = this.nextUint32() & 0xff;
    return target;
  }

  bytes(length: number): Buffer {
    return this.fill(Buffer.allocUnsafe(length)) as Buffer;
  }
}
