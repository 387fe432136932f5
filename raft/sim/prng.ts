// The one PRNG of a simulated world (STYLE.md §9): xoshiro128** (Blackman & Vigna), seeded by
// splitmix32 so that nearby seeds give unrelated streams. Written here: raft/ imports nothing of ours.

function splitmix32(state: { value: number }): number {
  state.value = (state.value + 0x9e3779b9) | 0;
  let z = state.value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const state = { value: seed | 0 };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = splitmix32(state);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, bound), by rejection so small bounds carry no modulo bias. */
  nextBelow(bound: number): number {
    if (!(bound >= 1 && bound <= 0x1_0000_0000 && Number.isInteger(bound))) throw new Error(`bound ${bound}`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    for (;;) {
      const value = this.nextU32();
      if (value < limit) return value % bound;
    }
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  chance(probability: number): boolean {
    return this.nextFloat() < probability;
  }

  /** Uniform integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.nextBelow(high - low + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.nextBelow(items.length)];
  }

  /** A child stream, so one node's draws do not shift the world's. */
  fork(): Prng {
    return new Prng(this.nextU32());
  }
}

function rotl(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}
