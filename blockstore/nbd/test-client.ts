// A minimal NBD client for this folder's tests: it speaks the same proto.md as the server but
// shares none of its code paths (it builds bytes by hand), so a codec bug cannot hide itself.
// Not for production: no timeouts beyond the caller's, no reconnects.
import { type Socket, connect } from 'node:net';

export interface TestReply {
  errno: number;
  /** READ data reassembled from OFFSET_DATA / OFFSET_HOLE chunks (or the simple reply payload). */
  data?: Buffer;
  /** Structured chunk types seen, in order. */
  chunkTypes: number[];
  /** BLOCK_STATUS descriptors: [length, flags] pairs. */
  extents?: number[];
}

interface Pending { type: number; length: number; offset: number; resolve: (reply: TestReply) => void; reply: TestReply }

export class TestClient {
  readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly pending = new Map<bigint, Pending>();
  private nextCookie = 1n;
  sizeBytes = 0;
  transmissionFlags = 0;
  structured = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (data: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, data]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
      for (const pending of this.pending.values()) pending.resolve({ errno: -1, chunkTypes: [] });
      this.pending.clear();
    });
    socket.on('error', () => {});
  }

  static async raw(port: number): Promise<TestClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new TestClient(socket);
  }

  /** Greeting, client flags, optional STRUCTURED_REPLY and SET_META_CONTEXT base:allocation, then GO. */
  static async open(port: number, name: string, options: { structured?: boolean; metaContext?: boolean } = {}): Promise<TestClient> {
    const client = await TestClient.raw(port);
    await client.readExact(18);
    client.socket.write(u32(1)); // NBD_FLAG_C_FIXED_NEWSTYLE
    if (options.structured) {
      client.sendOption(8, Buffer.alloc(0));
      await client.expectAck();
      client.structured = true;
    }
    if (options.metaContext) {
      const nameBytes = Buffer.from(name);
      const query = Buffer.from('base:allocation');
      client.sendOption(10, Buffer.concat([u32(nameBytes.length), nameBytes, u32(1), u32(query.length), query]));
      await client.expectAck();
    }
    const nameBytes = Buffer.from(name);
    client.sendOption(7, Buffer.concat([u32(nameBytes.length), nameBytes, u16(0)]));
    await client.expectAck();
    client.readReplies();
    return client;
  }

  sendOption(code: number, payload: Buffer): void {
    this.socket.write(Buffer.concat([Buffer.from('IHAVEOPT'), u32(code), u32(payload.length), payload]));
  }

  /** Reads option replies until a final one; records NBD_INFO_EXPORT. Returns the final reply type. */
  async expectAck(): Promise<number> {
    for (;;) {
      const header = await this.readExact(20);
      const type = header.readUInt32BE(12);
      const data = await this.readExact(header.readUInt32BE(16));
      if (type === 3 && data.readUInt16BE(0) === 0) {
        this.sizeBytes = Number(data.readBigUInt64BE(2));
        this.transmissionFlags = data.readUInt16BE(10);
      }
      if (type === 1 || type >= 0x8000_0000) {
        if (type !== 1) throw new Error(`option refused with 0x${type.toString(16)}: ${data.subarray(4).toString()}`);
        return type;
      }
    }
  }

  /** Sends one request; the promise resolves with its (possibly out-of-order) reply. */
  request(type: number, offset: number, length: number, options: { flags?: number; payload?: Buffer } = {}): Promise<TestReply> {
    const cookie = this.nextCookie++;
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(options.flags ?? 0, 4);
    header.writeUInt16BE(type, 6);
    header.writeBigUInt64BE(cookie, 8);
    header.writeBigUInt64BE(BigInt(offset), 16);
    header.writeUInt32BE(length, 24);
    const promise = new Promise<TestReply>((resolve) => {
      this.pending.set(cookie, { type, length, offset, resolve, reply: { errno: 0, chunkTypes: [] } });
    });
    this.socket.write(options.payload ? Buffer.concat([header, options.payload]) : header);
    return promise;
  }

  read(offset: number, length: number): Promise<TestReply> { return this.request(0, offset, length); }
  write(offset: number, payload: Buffer, flags = 0): Promise<TestReply> { return this.request(1, offset, payload.length, { payload, flags }); }

  disconnect(): void {
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(2, 6);
    this.socket.write(header);
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  get isClosed(): boolean { return this.closed; }

  close(): void { this.socket.destroy(); }

  async readExact(bytes: number): Promise<Buffer> {
    while (this.buffer.length < bytes) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const result = this.buffer.subarray(0, bytes);
    this.buffer = this.buffer.subarray(bytes);
    return Buffer.from(result);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private readReplies(): void {
    void (async () => {
      try {
        for (;;) await this.readOneReply();
      } catch {
        // connection closed
      }
    })();
  }

  private async readOneReply(): Promise<void> {
    const magic = (await this.readExact(4)).readUInt32BE(0);
    if (magic === 0x67446698) {
      const rest = await this.readExact(12);
      const pending = this.take(rest.readBigUInt64BE(4));
      const errno = rest.readUInt32BE(0);
      const data = pending.type === 0 && errno === 0 ? await this.readExact(pending.length) : undefined;
      pending.resolve({ errno, data, chunkTypes: [] });
      return;
    }
    if (magic !== 0x668e33ef) throw new Error(`bad reply magic ${magic.toString(16)}`);
    const rest = await this.readExact(16);
    const flags = rest.readUInt16BE(0);
    const type = rest.readUInt16BE(2);
    const cookie = rest.readBigUInt64BE(4);
    const payload = await this.readExact(rest.readUInt32BE(12));
    const pending = this.pending.get(cookie);
    if (!pending) throw new Error(`reply for unknown cookie ${cookie}`);
    const reply = pending.reply;
    reply.chunkTypes.push(type);
    if (pending.type === 0 && !reply.data) reply.data = Buffer.alloc(pending.length);
    if (type === 1) payload.copy(reply.data!, Number(payload.readBigUInt64BE(0)) - pending.offset, 8);
    if (type === 5) {
      reply.extents = [];
      for (let position = 4; position < payload.length; position += 4) reply.extents.push(payload.readUInt32BE(position));
    }
    if (type >= 0x8000) reply.errno = payload.readUInt32BE(0);
    if (flags & 1) {
      this.pending.delete(cookie);
      pending.resolve(reply);
    }
  }

  private take(cookie: bigint): Pending {
    const pending = this.pending.get(cookie);
    if (!pending) throw new Error(`reply for unknown cookie ${cookie}`);
    this.pending.delete(cookie);
    return pending;
  }
}

export function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0, 0);
  return buffer;
}

export function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value, 0);
  return buffer;
}

/** A small seeded PRNG (mulberry32) so every fuzz failure replays from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
