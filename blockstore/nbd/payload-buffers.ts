// WRITE payload buffers a connection reuses. A 1 MiB WRITE arrives in ≤ 64 KiB socket reads, so
// its payload is copied into one buffer; allocating that buffer per request made every written
// byte new external memory, which is what drives V8's incremental marking (a sequential write of
// 256 MiB: 19 mark-compacts of a 10 MB heap on the main isolate, their marking on V8's helper
// threads). The device only borrows a payload until its write settles (block-device.ts), so the
// buffer can then carry the next request's payload.
import { assert } from '../../dedup/errors.js';
import { nbdPayloadBufferBytesMax, nbdPayloadBuffersKeptMax } from './limits.js';

export class PayloadBuffers {
  private readonly kept: Buffer[] = [];
  /** Only buffers minted here come back: a view of a socket chunk must never be written into. */
  private readonly minted = new WeakSet<Buffer>();

  /** A buffer of exactly `bytes` to read a payload into (reused when one of that size is kept). */
  take(bytes: number): Buffer {
    assert(Number.isInteger(bytes) && bytes > 0, 'payloads are at least one byte');
    const at = this.kept.findIndex((buffer) => buffer.length === bytes);
    if (at >= 0) return this.kept.splice(at, 1)[0];
    const buffer = Buffer.allocUnsafe(bytes);
    this.minted.add(buffer);
    return buffer;
  }

  /** Gives back `buffer` once nobody reads it any more: after the device's write settled, or
   * unused. Anything not minted here, too large, or past the cap is left to the GC. */
  give(buffer: Buffer | undefined): void {
    if (buffer === undefined || !this.minted.has(buffer) || buffer.length > nbdPayloadBufferBytesMax) return;
    assert(!this.kept.includes(buffer), 'a payload buffer is given back once');
    if (this.kept.length < nbdPayloadBuffersKeptMax) this.kept.push(buffer);
    else this.minted.delete(buffer);
  }
}
