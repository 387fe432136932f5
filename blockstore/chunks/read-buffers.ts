// Buffers for readCiphertextLeased, reused instead of allocated per read. A streaming GET reads
// its whole size through here: one fresh Buffer per chunk made ~5 GiB of garbage for a 5 GiB
// GET, which V8 frees only when its external-memory accounting forces a mark-compact (one every
// ~100 ms) and which glibc's main arena kept as RSS in between (the 5 GiB bench's [heap] ~120 MiB).
import { assert } from '../../dedup/errors.js';
import type { Leased } from './chunk-store.js';

export class ReadBuffers {
  private readonly free: Buffer[] = [];
  /** Pooled buffers handed out and not yet released. */
  private lent = 0;

  /** `bufferBytes`: each pooled buffer's size; `pooledMax`: how many exist at once, lent or free. */
  constructor(readonly bufferBytes: number, private readonly pooledMax: number) {
    assert(Number.isSafeInteger(bufferBytes) && bufferBytes > 0 && Number.isSafeInteger(pooledMax) && pooledMax >= 0, 'read buffer bounds');
  }

  /**
   * A buffer of at least `bytes`, and how to hand it back once nothing reads it. Past pooledMax
   * reads in flight (a volume's 1 MiB reads at queue depth: hundreds of blocks at once) a read
   * gets a fresh buffer of its own size, as without a pool: pooled-size ones there were mmapped
   * and unmapped per read by malloc and cut sequential volume reads ~25 %.
   */
  take(bytes: number): Leased<Buffer> {
    if (bytes > this.bufferBytes || (this.free.length === 0 && this.lent >= this.pooledMax)) {
      return { value: Buffer.allocUnsafe(bytes), release: () => {} };
    }
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.lent++;
    let released = false;
    return {
      value: buffer,
      release: () => {
        assert(!released, 'a read buffer is released once');
        released = true;
        this.lent--;
        this.free.push(buffer);
      },
    };
  }
}
