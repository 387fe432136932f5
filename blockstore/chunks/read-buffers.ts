// Buffers for readCiphertextLeased, reused instead of allocated per read. A streaming GET reads
// its whole size through here: one fresh Buffer per chunk made ~5 GiB of garbage for a 5 GiB
// GET, which V8 frees only when its external-memory accounting forces a mark-compact (one every
// ~100 ms) and which glibc's main arena kept as RSS in between (the 5 GiB bench's [heap] ~120 MiB).
import { assert } from '../../dedup/errors.js';
import type { Leased } from './chunk-store.js';

export class ReadBuffers {
  private readonly free: Buffer[] = [];

  /** `bufferBytes`: each buffer's size (larger reads get a fresh one); `freeMax`: how many are kept. */
  constructor(readonly bufferBytes: number, private readonly freeMax: number) {
    assert(Number.isSafeInteger(bufferBytes) && bufferBytes > 0 && Number.isSafeInteger(freeMax) && freeMax >= 0, 'read buffer bounds');
  }

  /** A buffer of at least `bytes`, and how to hand it back once nothing reads it. */
  take(bytes: number): Leased<Buffer> {
    if (bytes > this.bufferBytes) return { value: Buffer.allocUnsafe(bytes), release: () => {} };
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    let released = false;
    return {
      value: buffer,
      release: () => {
        assert(!released, 'a read buffer is released once');
        released = true;
        if (this.free.length < this.freeMax) this.free.push(buffer);
      },
    };
  }
}
