// Length framing with a checksum per frame, the same shape as the durable log's records
// (raft/storage/record-codec.ts): [payload length u32 LE][crc32 of payload u32 LE][payload].
// TCP already checksums segments, but its 16-bit sum misses some corruption; a frame that fails
// its crc32 closes the connection (the peer reconnects, Raft retransmits).
import { crc32 } from 'node:zlib';
import { assert } from '../core/index.js';
import { TransportError } from './errors.js';
import { transportFrameBytesMax } from './limits.js';

export const frameHeaderBytes = 8;

export function encodeFrame(payload: Uint8Array): Buffer {
  assert(payload.length <= transportFrameBytesMax, `frame payload of ${payload.length} bytes`);
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** Reassembles frames from a byte stream cut anywhere. Throws TransportError on a bad frame. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the payloads of every frame completed by them, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const payloads: Uint8Array[] = [];
    let offset = 0;
    while (this.pending.length - offset >= frameHeaderBytes) {
      const length = this.pending.readUInt32LE(offset);
      if (length > transportFrameBytesMax) throw new TransportError('FrameTooLarge', `frame of ${length} bytes`);
      if (this.pending.length - offset < frameHeaderBytes + length) break;
      const payload = this.pending.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length);
      if (crc32(payload) !== this.pending.readUInt32LE(offset + 4)) throw new TransportError('ChecksumMismatch', `frame at stream byte ${offset}`);
      payloads.push(new Uint8Array(payload));
      offset += frameHeaderBytes + length;
    }
    this.pending = this.pending.subarray(offset);
    return payloads;
  }

  /** Bytes of an incomplete frame held back. */
  bufferedBytes(): number {
    return this.pending.length;
  }
}
