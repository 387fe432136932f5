// Reads exact byte counts from a socket for the handshake and transmission loops, with bounded
// read-ahead: when nobody asks for bytes (the connection is at its in-flight cap) the reader stops
// the socket after nbdReadAheadBytesMax, which is how a slow device pushes back on a fast client.
import type { Socket } from 'node:net';
import { assert } from '../../dedup/errors.js';
import { nbdReadAheadBytesMax, nbdRequestBytesMax } from './limits.js';

/** The peer closed, or we stopped reading: not an error of the protocol. */
export class ConnectionEnded extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConnectionEnded';
  }
}

interface PendingRead { bytes: number; into: Buffer | undefined; resolve: (data: Buffer) => void; reject: (error: Error) => void }

export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private pending: PendingRead | undefined;
  private ended: ConnectionEnded | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => this.end('peer closed the connection'));
    socket.on('close', () => this.end('connection closed'));
  }

  /** Resolves with exactly `bytes` bytes. The Buffer may be a view of a socket chunk: it is never
   * reused by Node, so the caller owns it. Bytes that span socket chunks are copied into `into`
   * (exactly `bytes` long) when given, else into a new buffer. One read at a time. */
  read(bytes: number, into?: Buffer): Promise<Buffer> {
    assert(this.pending === undefined, 'one read at a time');
    assert(Number.isInteger(bytes) && bytes > 0 && bytes <= nbdRequestBytesMax + 64, 'read size is bounded');
    assert(into === undefined || into.length === bytes, 'a target buffer is exactly the read');
    if (this.buffered >= bytes) return Promise.resolve(this.take(bytes, into));
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.pending = { bytes, into, resolve, reject };
      if (this.socket.isPaused() && !this.socket.destroyed) this.socket.resume();
    });
  }

  /** Stops reading for good (server shutdown or DISC): a pending read rejects with ConnectionEnded. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = new ConnectionEnded(reason);
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(this.ended);
  }

  private onData(data: Buffer): void {
    if (this.ended) return;
    this.chunks.push(data);
    this.buffered += data.length;
    const pending = this.pending;
    if (pending && this.buffered >= pending.bytes) {
      this.pending = undefined;
      pending.resolve(this.take(pending.bytes, pending.into));
    }
    const wanted = this.pending ? Math.max(this.pending.bytes, nbdReadAheadBytesMax) : nbdReadAheadBytesMax;
    if (this.buffered >= wanted) this.socket.pause();
  }

  private take(bytes: number, into: Buffer | undefined): Buffer {
    assert(bytes <= this.buffered, 'take only what is buffered');
    let result: Buffer;
    const first = this.chunks[0];
    if (first.length >= bytes) {
      result = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
      result = into ?? Buffer.allocUnsafe(bytes);
      let filled = 0;
      while (filled < bytes) {
        const chunk = this.chunks[0];
        const used = Math.min(chunk.length, bytes - filled);
        chunk.copy(result, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(used);
      }
    }
    this.buffered -= bytes;
    if (this.buffered < nbdReadAheadBytesMax && this.socket.isPaused() && !this.socket.destroyed) this.socket.resume();
    assert(result.length === bytes, 'take returns exactly what was asked');
    return result;
  }
}
