// Method: a real loopback TCP connection whose accepted end a SocketReader adopts; the client
// writes a seeded byte stream in random-sized pieces and the test reads it back in random-sized
// reads, with and without targets, eagerly and after the reader stopped the socket at its
// read-ahead bound, and compares every byte. Also: a read straight into a large target takes the
// socket's bytes without a scratch copy, and a peer that hangs up fails only the read it cuts.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nbdReadAheadBytesMax } from './limits.js';
import { ConnectionEnded, SocketReader } from './socket-reader.js';

/** A seeded xorshift32 (this folder imports nothing of dedup/ but its errors). */
class Seeded {
  private state: number;
  constructor(seed: number) { this.state = seed >>> 0 || 1; }
  nextBelow(bound: number): number {
    this.state ^= this.state << 13; this.state >>>= 0;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5; this.state >>>= 0;
    return this.state % bound;
  }
  fill(target: Buffer): Buffer {
    for (let at = 0; at < target.length; at++) target[at] = this.nextBelow(256);
    return target;
  }
}

const servers: Server[] = [];
afterEach(() => { for (const server of servers.splice(0)) server.close(); });

/** A connected pair: the adopted reader (server side) and the client socket. */
async function pair(): Promise<{ reader: SocketReader; client: Socket }> {
  let adopted: (reader: SocketReader) => void = () => {};
  const accepted = new Promise<SocketReader>((resolve) => { adopted = resolve; });
  const server = createServer({ pauseOnConnect: true }, (socket) => adopted(SocketReader.adopt(socket)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  return { reader: await accepted, client };
}

function writePieces(client: Socket, bytes: Buffer, random: Seeded): void {
  for (let at = 0; at < bytes.length;) {
    const size = Math.min(bytes.length - at, 1 + random.nextBelow(200_000));
    client.write(bytes.subarray(at, at + size));
    at += size;
  }
}

/** Reads `total` bytes in random sizes (a third into targets) and returns them concatenated. */
async function readAll(reader: SocketReader, total: number, random: Seeded): Promise<Buffer> {
  const out = Buffer.alloc(total);
  for (let at = 0; at < total;) {
    const size = Math.min(total - at, 1 + random.nextBelow(random.nextBelow(2) === 0 ? 64 : 1_500_000));
    const into = random.nextBelow(3) === 0 ? Buffer.alloc(size, 0xee) : undefined;
    const got = await reader.read(size, into);
    expect(got.length).toBe(size);
    if (into) expect(got).toBe(into);
    got.copy(out, at);
    at += size;
  }
  return out;
}

describe('SocketReader', () => {
  it('returns exactly the bytes sent, in order, for any mix of read sizes and targets', async () => {
    for (const seed of [1, 2, 3]) {
      const { reader, client } = await pair();
      const random = new Seeded(seed);
      const bytes = random.fill(Buffer.alloc(12 * 1024 * 1024));
      writePieces(client, bytes, random);
      expect((await readAll(reader, bytes.length, random)).equals(bytes)).toBe(true);
      client.destroy();
    }
  });

  it('stops the socket at the read-ahead bound while nobody reads, and loses nothing when reads resume', async () => {
    const { reader, client } = await pair();
    const random = new Seeded(9);
    const bytes = random.fill(Buffer.alloc(4 * nbdReadAheadBytesMax));
    writePieces(client, bytes, random);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const buffered = (reader as unknown as { buffered: number }).buffered;
    expect(buffered).toBeGreaterThanOrEqual(nbdReadAheadBytesMax);
    expect(buffered).toBeLessThan(nbdReadAheadBytesMax + 256 * 1024); // stopped, not reading on
    expect((await readAll(reader, bytes.length, random)).equals(bytes)).toBe(true);
    client.destroy();
  });

  it('reads a large payload into its target without a scratch buffer once the target is lent', async () => {
    const { reader, client } = await pair();
    const payload = new Seeded(4).fill(Buffer.alloc(8 * 1024 * 1024));
    const into = Buffer.alloc(payload.length);
    const reading = reader.read(payload.length, into);
    const lent: Buffer[] = [];
    const internals = reader as unknown as { lend: () => Buffer };
    const lend = internals.lend.bind(reader);
    internals.lend = () => { const next = lend(); lent.push(next); return next; };
    client.write(payload);
    expect((await reading).equals(payload)).toBe(true);
    expect(lent.some((buffer) => buffer.buffer === into.buffer)).toBe(true);
    client.destroy();
  });

  it('a peer hanging up fails the read it cuts with ConnectionEnded; bytes before it still read', async () => {
    const { reader, client } = await pair();
    client.end(Buffer.from('abcdef'));
    expect((await reader.read(4)).toString()).toBe('abcd');
    await expect(reader.read(10)).rejects.toBeInstanceOf(ConnectionEnded);
    await expect(reader.read(1)).resolves.toEqual(Buffer.from('e'));
  });
});
