// Reads exact byte counts from a connection for the handshake and transmission loops, into
// buffers we own: the socket reads with node's `onread` option (a buffer we hand it for every
// read) instead of 'data' events, which allocate a fresh 64 KiB buffer per read. On a sequential
// 1 MiB writer those allocations were all of the payload (256 MiB per 256 MiB written) as
// short-lived external memory, then a copy of each into the payload's buffer (the mark-compacts
// of that load stayed: --trace-gc shows them requested by old-space growth, not by these). Now:
// - while a read with a target (a WRITE payload's buffer) still needs nbdDirectReadBytesMin or
//   more and nothing is buffered, the socket reads straight into the target: no copy, and one
//   read syscall takes up to all that is missing instead of 64 KiB;
// - otherwise it reads into one of two scratch buffers (nbdScratchBytes), and what a read asks
//   for is copied out. A scratch is lent again only once every byte in it was consumed; if the
//   consumer lags, a fresh scratch replaces it (the old one lives on in the unread bytes).
// Bounded read-ahead: with no read waiting, the reader stops the socket past nbdReadAheadBytesMax
// (the connection is at its in-flight cap): that is how a slow device pushes back on a client.
// Node only offers `onread` when it creates a socket, and net.Server creates accepted ones
// itself, so adopt() moves an accepted connection's handle into a socket of our own.
import { Socket } from 'node:net';
import { assert } from '../../dedup/errors.js';
import { nbdDirectReadBytesMin, nbdReadAheadBytesMax, nbdRequestBytesMax, nbdScratchBytes } from './limits.js';

/** The peer closed, or we stopped reading: not an error of the protocol. */
export class ConnectionEnded extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConnectionEnded';
  }
}

interface PendingRead {
  bytes: number;
  /** The caller's target, filled as bytes arrive; else the bytes are copied out when all are here. */
  into: Buffer | undefined;
  filled: number;
  resolve: (data: Buffer) => void;
  reject: (error: Error) => void;
}

export class SocketReader {
  /** Unread bytes in arrival order: views of scratch buffers. */
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private pending: PendingRead | undefined;
  private ended: ConnectionEnded | undefined;
  private readonly scratches = [Buffer.allocUnsafe(nbdScratchBytes), Buffer.allocUnsafe(nbdScratchBytes)];
  private nextScratch = 0;
  /** The buffer the socket reads into next: a scratch, or the pending read's target (direct). */
  private lent: Buffer | undefined;
  private direct = false;
  private stopped = false;
  readonly socket: Socket;

  /**
   * Takes over an accepted connection (`accepted` is left destroyed, its handle moved): returns
   * the reader, whose `socket` is the one to write replies to and close.
   */
  static adopt(accepted: Socket): SocketReader {
    return new SocketReader(accepted);
  }

  private constructor(accepted: Socket) {
    const internals = accepted as unknown as { _handle: unknown };
    const handle = internals._handle;
    assert(handle !== null && handle !== undefined && !accepted.destroyed, 'an accepted connection has its handle');
    internals._handle = null; // destroy() now only ends the husk (and the server's connection count)
    accepted.destroy();
    const options = {
      handle,
      onread: { buffer: () => this.lend(), callback: (bytes: number, into: Uint8Array) => this.onRead(bytes, into) },
    };
    this.socket = new Socket(options as ConstructorParameters<typeof Socket>[0]);
    this.socket.on('end', () => this.end('peer closed the connection'));
    this.socket.on('close', () => this.end('connection closed'));
    this.socket.resume(); // accepted paused (pauseOnConnect): reading starts with us
  }

  /** Resolves with exactly `bytes` bytes, owned by the caller: `into` (exactly `bytes` long) when
   * given, else a new buffer. One read at a time. */
  read(bytes: number, into?: Buffer): Promise<Buffer> {
    assert(this.pending === undefined, 'one read at a time');
    assert(Number.isInteger(bytes) && bytes > 0 && bytes <= nbdRequestBytesMax + 64, 'read size is bounded');
    assert(into === undefined || into.length === bytes, 'a target buffer is exactly the read');
    if (this.buffered >= bytes) return Promise.resolve(this.take(into ?? Buffer.allocUnsafe(bytes), 0, bytes));
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.pending = { bytes, into, filled: 0, resolve, reject };
      this.drain();
      if (this.stopped && this.pending !== undefined && !this.socket.destroyed) {
        this.stopped = false;
        this.socket.resume();
      }
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

  /** Node asks, after every read, where the next one goes. */
  private lend(): Buffer {
    const pending = this.pending;
    if (pending?.into !== undefined && this.buffered === 0 && pending.bytes - pending.filled >= nbdDirectReadBytesMin) {
      this.direct = true;
      this.lent = pending.into.subarray(pending.filled, pending.bytes);
      return this.lent;
    }
    const at = this.nextScratch;
    this.nextScratch = 1 - at;
    if (this.chunks.some((chunk) => chunk.buffer === this.scratches[at].buffer)) this.scratches[at] = Buffer.allocUnsafe(nbdScratchBytes);
    this.direct = false;
    this.lent = this.scratches[at];
    return this.lent;
  }

  /** `bytes` arrived in `into`, the buffer lend() gave. Returns false to stop reading. */
  private onRead(bytes: number, into: Uint8Array): boolean {
    assert(into === this.lent && bytes > 0 && bytes <= into.length, 'node read into the buffer we lent');
    if (this.ended) return false;
    if (this.direct) {
      const pending = this.pending;
      assert(pending !== undefined && this.lent.buffer === pending.into?.buffer, 'a direct read fills the pending target');
      pending.filled += bytes;
      this.settleIfFilled();
    } else {
      this.chunks.push(this.lent.subarray(0, bytes));
      this.buffered += bytes;
      this.drain();
    }
    if (this.pending === undefined && this.buffered >= nbdReadAheadBytesMax) {
      this.stopped = true;
      return false;
    }
    return true;
  }

  /** Moves buffered bytes into the pending read: a target fills as bytes come; a copy waits for all. */
  private drain(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    if (pending.into !== undefined) {
      const bytes = Math.min(this.buffered, pending.bytes - pending.filled);
      if (bytes > 0) this.take(pending.into, pending.filled, bytes);
      pending.filled += bytes;
      this.settleIfFilled();
    } else if (this.buffered >= pending.bytes) {
      this.pending = undefined;
      pending.resolve(this.take(Buffer.allocUnsafe(pending.bytes), 0, pending.bytes));
    }
  }

  private settleIfFilled(): void {
    const pending = this.pending;
    if (pending === undefined || pending.filled < pending.bytes) return;
    assert(pending.filled === pending.bytes && pending.into !== undefined, 'a target is filled exactly');
    this.pending = undefined;
    pending.resolve(pending.into);
  }

  /** Copies the next `bytes` buffered bytes into target[at, at + bytes). */
  private take(target: Buffer, at: number, bytes: number): Buffer {
    assert(bytes <= this.buffered && at + bytes <= target.length, 'take only what is buffered, into room that exists');
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0];
      const used = Math.min(chunk.length, bytes - filled);
      chunk.copy(target, at + filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= bytes;
    return target;
  }
}
