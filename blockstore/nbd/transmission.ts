// The transmission shell (proto.md "Transmission"): reads requests, validates them with the pure
// codec, runs them against the BlockDevice concurrently, and writes each reply when it is ready.
//
// Pipelining and ordering (proto.md "Ordering of messages and writes": the server MAY process and
// reply out of order). Up to nbdInflightRequestsMax requests (and nbdInflightBytesMax payload
// bytes) run at once per connection. Within a connection, a request whose range overlaps an
// earlier-received, still-running request starts only after that one settled when either of them
// writes (WRITE, TRIM, WRITE_ZEROES); overlapping reads run together. So a connection sees its
// own writes in the order it sent them, as if executed one by one, while disjoint I/O overlaps.
// FLUSH does not wait: proto.md asks it to cover the writes already replied to, and those have
// completed in the device, whose flush() covers every write completed before it was called.
// Across connections there is no ordering (CAN_MULTI_CONN only promises flush visibility).
import type { Socket } from 'node:net';
import { AssertionError, assert } from '../../dedup/errors.js';
import type { BlockDevice } from './block-device.js';
import { nbdErrnoOf, nbdMessageOf } from './errors.js';
import { nbdInflightBytesMax, nbdInflightRequestsMax, nbdReplyQueueBytesMax } from './limits.js';
import type { NbdLogger } from './logger.js';
import { PayloadBuffers } from './payload-buffers.js';
import { ConnectionEnded, type SocketReader } from './socket-reader.js';
import {
  decodeRequestHeader, encodeBlockStatusChunk, encodeErrorChunk, encodeNoneChunk, encodeOffsetDataHeader, encodeOffsetHole,
  encodeSimpleReply, type NbdRequest, planBlockStatus, planReadPieces, requestHeaderBytes, type TransmissionSession,
  validateRequest,
} from './transmission-codec.js';
import { HardDisconnect } from './handshake.js';

interface Running {
  offset: number;
  end: number;
  writes: boolean;
  settled: Promise<void>;
}

export class Transmission {
  private readonly running = new Set<Running>();
  /** Entries of `running` that write: while none do, a read waits for nothing (no scan). */
  private runningWrites = 0;
  private inflightBytes = 0;
  private capacityWaiter: (() => void) | undefined;
  private fatal: Error | undefined;
  private corked = false;
  private readonly payloadBuffers = new PayloadBuffers();

  constructor(
    private readonly socket: Socket,
    private readonly reader: SocketReader,
    private readonly device: BlockDevice,
    private readonly session: TransmissionSession,
    private readonly logger: NbdLogger,
  ) {
    // A peer that hangs up while we wait for capacity must not leave serve() waiting forever.
    socket.on('close', () => this.wakeCapacity());
  }

  /** Serves requests until DISC, the peer hanging up, a fatal error or stop(). Never throws for
   * protocol reasons: a malformed request ends this connection only. */
  async serve(): Promise<void> {
    try {
      for (;;) {
        await this.capacity();
        const decoded = decodeRequestHeader(await this.reader.read(requestHeaderBytes));
        if (!decoded.ok) throw new HardDisconnect(decoded.reason);
        const spare = decoded.payloadBytes > 0 ? this.payloadBuffers.take(decoded.payloadBytes) : undefined;
        const payload = spare ? await this.reader.read(decoded.payloadBytes, spare) : undefined;
        const validation = validateRequest(decoded.header, this.session);
        if (!validation.ok) {
          this.payloadBuffers.give(payload);
          this.replyError(decoded.header.cookie, validation.error);
          continue;
        }
        if (validation.request.kind === 'disconnect') break;
        this.start(validation.request, payload);
      }
    } catch (error) {
      if (!(error instanceof ConnectionEnded)) this.fail(error);
    }
    // proto.md NBD_CMD_DISC: "The server MUST handle all outstanding requests" before closing.
    await this.drained();
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Server shutdown: take no more requests; serve() finishes what is running and closes. */
  stop(): void {
    this.reader.end('server shutting down');
    this.wakeCapacity();
  }

  private start(request: Exclude<NbdRequest, { kind: 'disconnect' }>, payload: Buffer | undefined): void {
    const range = request.kind === 'flush' ? undefined : { offset: request.offset, end: request.offset + request.length };
    const writes = request.kind === 'write' || request.kind === 'trim' || request.kind === 'writeZeroes';
    const bytes = request.kind === 'read' || request.kind === 'write' ? request.length : 0;
    const mayWait = range !== undefined && (writes || this.runningWrites > 0);
    const before = mayWait ? [...this.running].filter((other) => (writes || other.writes) && other.offset < range.end && range.offset < other.end) : [];
    const entry: Running = { offset: range?.offset ?? 0, end: range?.end ?? 0, writes, settled: Promise.resolve() };
    this.inflightBytes += bytes;
    if (writes) this.runningWrites++;
    entry.settled = (async () => {
      if (before.length > 0) await Promise.all(before.map((other) => other.settled));
      await this.execute(request, payload);
    })().catch((error: unknown) => this.fail(error)).finally(() => {
      // The device's write has settled: it holds no reference to the payload (block-device.ts).
      this.payloadBuffers.give(payload);
      this.running.delete(entry);
      if (writes) this.runningWrites--;
      this.inflightBytes -= bytes;
      this.wakeCapacity();
    });
    this.running.add(entry);
    assert(this.running.size <= nbdInflightRequestsMax, 'in-flight requests stay under the cap');
  }

  /** Runs one validated request and replies; an operating error becomes an error reply. */
  private async execute(request: Exclude<NbdRequest, { kind: 'disconnect' }>, payload: Buffer | undefined): Promise<void> {
    try {
      switch (request.kind) {
        case 'read': return await this.read(request.cookie, request.offset, request.length);
        case 'write':
          assert(payload !== undefined && payload.length === request.length, 'a write carries its payload');
          await this.device.write(request.offset, payload, request.fua);
          break;
        case 'flush': await this.device.flush(); break;
        case 'trim': await this.device.trim(request.offset, request.length, request.fua); break;
        case 'cache': await this.device.cache?.(request.offset, request.length); break;
        case 'writeZeroes':
          await this.device.writeZeroes(request.offset, request.length, { fua: request.fua, noHole: request.noHole, fastZero: request.fastZero });
          break;
        case 'blockStatus': return await this.blockStatus(request.cookie, request.offset, request.length, request.reqOne);
      }
      this.send([encodeSimpleReply(request.cookie, 0)]);
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      if (nbdMessageOf(error) === 'internal I/O error') this.logger.warn({ err: error, request: request.kind }, 'nbd: device error reported as EIO');
      this.replyError(request.cookie, error);
    }
  }

  private async read(cookie: Buffer, offset: number, length: number): Promise<void> {
    if (!this.session.structuredReplies) {
      const data = length > 0 ? await this.device.read(offset, length) : Buffer.alloc(0);
      assert(data.length === length, 'device read returns exactly the requested length');
      this.send([encodeSimpleReply(cookie, 0), data]);
      return;
    }
    if (length === 0) return this.send([encodeNoneChunk(cookie)]);
    // Holes are sent as NBD_REPLY_TYPE_OFFSET_HOLE (proto.md "Structured reply types"); a device
    // that cannot tell (or fails to) simply yields one data chunk.
    const extents = await this.device.blockStatus(offset, length).catch(() => []);
    const pieces = planReadPieces(offset, length, extents);
    const data = pieces.some((piece) => piece.kind === 'data') ? await this.device.read(offset, length) : undefined;
    assert(data === undefined || data.length === length, 'device read returns exactly the requested length');
    const parts: Buffer[] = [];
    pieces.forEach((piece, index) => {
      const done = index === pieces.length - 1; // all data is in hand: no error can follow (proto.md NBD_CMD_READ)
      if (piece.kind === 'hole') parts.push(encodeOffsetHole(cookie, done, piece.offset, piece.length));
      else {
        parts.push(encodeOffsetDataHeader(cookie, done, piece.offset, piece.length));
        parts.push(data!.subarray(piece.offset - offset, piece.offset - offset + piece.length));
      }
    });
    this.send(parts);
  }

  private async blockStatus(cookie: Buffer, offset: number, length: number, reqOne: boolean): Promise<void> {
    const extents = await this.device.blockStatus(offset, length);
    assert(extents.length > 0 && extents.every((extent) => extent.length > 0), 'device block status: at least one non-empty extent');
    assert(extents.reduce((sum, extent) => sum + extent.length, 0) <= length, 'device block status describes no more than asked');
    const descriptors = planBlockStatus(extents, length, reqOne);
    const ids = this.session.metaContextIds;
    // proto.md NBD_CMD_BLOCK_STATUS: exactly one chunk per selected context.
    this.send(ids.map((id, index) => encodeBlockStatusChunk(cookie, index === ids.length - 1, id, descriptors)));
  }

  /** proto.md: with structured replies a READ error MUST be structured; other errors SHOULD be (they carry a message). */
  private replyError(cookie: Buffer, error: unknown): void {
    const errno = nbdErrnoOf(error);
    if (this.session.structuredReplies) this.send([encodeErrorChunk(cookie, errno, nbdMessageOf(error))]);
    else this.send([encodeSimpleReply(cookie, errno)]);
  }

  /** Writes one whole reply; parts of different replies never interleave because this is
   * synchronous. Replies finished in the same event-loop turn leave in one batch: the socket stays
   * corked until setImmediate, so 32 pipelined 4 KiB reads cost one syscall, not 32. */
  private send(parts: readonly Buffer[]): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        if (!this.socket.destroyed) this.socket.uncork();
      });
    }
    for (const part of parts) this.socket.write(part);
  }

  /** A bug or a broken stream: log, drop this connection (never an errno, STYLE §6). */
  private fail(error: unknown): void {
    if (this.fatal) return;
    this.fatal = error instanceof Error ? error : new Error(String(error));
    if (error instanceof AssertionError) this.logger.error({ err: error }, 'nbd: assertion failed; closing the connection');
    else if (error instanceof HardDisconnect) this.logger.warn({ reason: error.message }, 'nbd: protocol violation; closing the connection');
    else this.logger.error({ err: error }, 'nbd: unexpected error; closing the connection');
    this.reader.end('fatal error');
    this.socket.destroy();
  }

  private async capacity(): Promise<void> {
    for (;;) {
      if (this.socket.destroyed || this.fatal) return; // the next read fails and serve() winds down
      const full = this.running.size >= nbdInflightRequestsMax || this.inflightBytes >= nbdInflightBytesMax
        || this.socket.writableLength >= nbdReplyQueueBytesMax;
      if (!full) return;
      await new Promise<void>((resolve) => {
        this.capacityWaiter = resolve;
        if (this.socket.writableLength >= nbdReplyQueueBytesMax) this.socket.once('drain', () => this.wakeCapacity());
      });
    }
  }

  private wakeCapacity(): void {
    const waiter = this.capacityWaiter;
    this.capacityWaiter = undefined;
    waiter?.();
  }

  private async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running].map((entry) => entry.settled));
  }
}

