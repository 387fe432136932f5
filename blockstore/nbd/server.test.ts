// Method: startNbdServer on loopback port 0, driven by the hand-built TestClient (test-client.ts).
// Devices are MemoryBlockDevice, sometimes wrapped to delay, count or fail calls, so pipelining,
// per-connection ordering, caps and error mapping are observed from the wire.
import { afterEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../dedup/errors.js';
import type { BlockDevice } from './block-device.js';
import { NbdError } from './errors.js';
import { nbdConnectionsMax, nbdInflightRequestsMax } from './limits.js';
import type { NbdLogger } from './logger.js';
import { MemoryBlockDevice, MemoryExportRegistry } from './memory-block-device.js';
import { type NbdServer, startNbdServer } from './server.js';
import { TestClient, u16, u32 } from './test-client.js';

const servers: NbdServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

function recordingLogger(): NbdLogger & { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  return { errors, warnings, info() {}, warn(_fields, message) { warnings.push(message); }, error(_fields, message) { errors.push(message); } };
}

async function serve(devices: Record<string, BlockDevice>, logger: NbdLogger = recordingLogger()): Promise<NbdServer> {
  const server = await startNbdServer({ host: '127.0.0.1', port: 0, registry: new MemoryExportRegistry(devices), logger });
  servers.push(server);
  return server;
}

async function open(server: NbdServer, name: string, options: { structured?: boolean; metaContext?: boolean } = {}): Promise<TestClient> {
  const client = await TestClient.open(server.port, name, options);
  clients.push(client);
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delays reads at offset 0 so that later requests can overtake them. */
class SlowDevice extends MemoryBlockDevice {
  active = 0;
  peak = 0;
  override async read(offset: number, length: number): Promise<Buffer> {
    this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    try {
      await sleep(offset === 0 ? 150 : 5);
      return await super.read(offset, length);
    } finally {
      this.active -= 1;
    }
  }
  override async write(offset: number, data: Buffer, fua: boolean): Promise<void> {
    await sleep(data[0] === 1 ? 100 : 1);
    return super.write(offset, data, fua);
  }
}

describe('transmission over startNbdServer', () => {
  it('replies out of order when a later request finishes first (pipelining)', async () => {
    const server = await serve({ disk: new SlowDevice(1 << 20) });
    const client = await open(server, 'disk'); // simple replies: every read reaches the device
    const order: string[] = [];
    const slow = client.read(0, 4096).then(() => order.push('slow'));
    const fast = client.read(65536, 4096).then(() => order.push('fast'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('orders overlapping writes and reads of one connection as sent, even when the first write is slow', async () => {
    const server = await serve({ disk: new SlowDevice(1 << 20) });
    const client = await open(server, 'disk');
    const first = client.write(8192, Buffer.alloc(8192, 1)); // slow
    const second = client.write(12288, Buffer.alloc(4096, 2)); // overlaps, fast, must land after
    const read = client.read(8192, 8192);
    const replies = await Promise.all([first, second, read]);
    expect(replies.map((reply) => reply.errno)).toEqual([0, 0, 0]);
    expect(replies[2].data!.subarray(0, 4096).every((byte) => byte === 1)).toBe(true);
    expect(replies[2].data!.subarray(4096).every((byte) => byte === 2)).toBe(true);
  });

  it('keeps at most nbdInflightRequestsMax requests in the device and still answers all of them', async () => {
    const device = new SlowDevice(16 << 20);
    const server = await serve({ disk: device });
    const client = await open(server, 'disk');
    const replies = await Promise.all(Array.from({ length: 3 * nbdInflightRequestsMax }, (_, index) => client.read(4096 * (index + 1), 4096)));
    expect(replies.every((reply) => reply.errno === 0 && reply.data!.length === 4096)).toBe(true);
    expect(device.peak).toBeLessThanOrEqual(nbdInflightRequestsMax);
    expect(device.peak).toBeGreaterThan(1);
  });

  it('sends holes as OFFSET_HOLE chunks and data as OFFSET_DATA in structured reads', async () => {
    const device = new MemoryBlockDevice(1 << 20);
    await device.write(0, Buffer.alloc(65536, 9), false);
    const server = await serve({ disk: device });
    const client = await open(server, 'disk', { structured: true });
    const reply = await client.read(0, 4 * 65536);
    expect(reply.errno).toBe(0);
    expect(reply.chunkTypes).toEqual([1, 2]);
    expect(reply.data!.subarray(0, 65536).every((byte) => byte === 9)).toBe(true);
    expect(reply.data!.subarray(65536).every((byte) => byte === 0)).toBe(true);
  });

  it('maps range, read-only and flag errors to EINVAL, ENOSPC and EPERM with simple and structured replies', async () => {
    const device = new MemoryBlockDevice(1 << 20);
    const server = await serve({ disk: device, 'disk@snap': device.readOnlyCopy() });
    for (const structured of [false, true]) {
      const client = await open(server, 'disk', { structured });
      expect((await client.read(1 << 20, 1)).errno).toBe(22);
      expect((await client.write((1 << 20) - 1, Buffer.alloc(2))).errno).toBe(28);
      expect((await client.request(0, 0, 1, { flags: 1 << 3 })).errno).toBe(22); // REQ_ONE on a read
      expect((await client.request(77, 0, 1)).errno).toBe(22);
      expect((await client.request(7, 0, 512)).errno).toBe(22); // no meta context selected
      const snapshot = await open(server, 'disk@snap', { structured });
      expect((await snapshot.write(0, Buffer.alloc(512, 1))).errno).toBe(1);
      expect((await snapshot.request(4, 0, 512)).errno).toBe(1);
      expect((await snapshot.read(0, 512)).errno).toBe(0);
      expect((await client.read(0, 512)).errno).toBe(0); // still usable after errors
    }
    expect(await device.read(0, 512)).toEqual(Buffer.alloc(512));
  });

  it('reports device errors: NbdError by its code, anything else as EIO', async () => {
    const device = new MemoryBlockDevice(1 << 20, { fastZero: false });
    const failing = Object.assign(Object.create(device) as MemoryBlockDevice, {
      flush: async () => { throw new Error('disk on fire'); },
      trim: async () => { throw new NbdError('ENOSPC', 'no room'); },
    });
    const server = await serve({ disk: failing });
    const client = await open(server, 'disk', { structured: true });
    expect((await client.request(3, 0, 0)).errno).toBe(5);
    expect((await client.request(4, 0, 512)).errno).toBe(28);
    expect((await client.request(6, 0, 512, { flags: 1 << 4 })).errno).toBe(95); // FAST_ZERO → ENOTSUP
    expect((await client.request(6, 0, 512)).errno).toBe(0);
  });

  it('closes only the offending connection on an AssertionError and logs it', async () => {
    const device = new MemoryBlockDevice(1 << 20);
    const buggy = Object.assign(Object.create(device) as MemoryBlockDevice, {
      flush: async () => { throw new AssertionError('invariant broken'); },
    });
    const logger = recordingLogger();
    const server = await serve({ disk: buggy }, logger);
    const victim = await open(server, 'disk');
    const bystander = await open(server, 'disk');
    const reply = await victim.request(3, 0, 0);
    expect(reply.errno).toBe(-1); // no reply: the connection closed
    await victim.waitClosed();
    expect(logger.errors.some((message) => message.includes('assertion'))).toBe(true);
    expect((await bystander.write(0, Buffer.alloc(512, 3))).errno).toBe(0);
  });

  it('closes the connection on a bad request magic, and nothing else', async () => {
    const server = await serve({ disk: new MemoryBlockDevice(1 << 20) });
    const victim = await open(server, 'disk');
    const bystander = await open(server, 'disk');
    victim.socket.write(Buffer.alloc(28, 0xee));
    await victim.waitClosed();
    expect((await bystander.read(0, 512)).errno).toBe(0);
  });

  it('finishes outstanding writes before closing on NBD_CMD_DISC', async () => {
    const device = new SlowDevice(1 << 20);
    const server = await serve({ disk: device });
    const client = await open(server, 'disk');
    void client.write(0, Buffer.alloc(4096, 1)); // slow write, not awaited
    client.disconnect();
    await client.waitClosed();
    expect((await device.read(0, 4096)).every((byte) => byte === 1)).toBe(true);
  });

  it('close() ends idle and busy connections', async () => {
    const server = await startNbdServer({ host: '127.0.0.1', port: 0, registry: new MemoryExportRegistry({ disk: new SlowDevice(1 << 20) }), logger: recordingLogger() });
    const client = await open(server, 'disk');
    const haggling = await TestClient.raw(server.port);
    clients.push(haggling);
    const pending = client.read(0, 512);
    await sleep(20);
    await server.close();
    expect((await pending).errno).toBe(0); // in-flight request finished before the close
    await client.waitClosed();
    await haggling.waitClosed();
  });
});

describe('connection cap', () => {
  it('greets nbdConnectionsMax connections, closes the next at once, and greets again once one left', async () => {
    const server = await serve({ disk: new MemoryBlockDevice(1 << 20) });
    const greeted = async (client: TestClient) => expect((await client.readExact(16)).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
    const first: TestClient[] = [];
    for (let at = 0; at < nbdConnectionsMax; at++) {
      const client = await TestClient.raw(server.port);
      clients.push(client);
      first.push(client);
    }
    await Promise.all(first.map(greeted));
    const refused = await TestClient.raw(server.port);
    clients.push(refused);
    await expect(refused.readExact(1)).rejects.toThrow(/closed/); // no greeting: closed at once
    first[0].close();
    await sleep(50); // the server sees the close
    const again = await TestClient.raw(server.port);
    clients.push(again);
    await greeted(again);
  });
});

describe('handshake over startNbdServer', () => {
  async function haggle(server: NbdServer): Promise<TestClient> {
    const client = await TestClient.raw(server.port);
    clients.push(client);
    const greeting = await client.readExact(18);
    expect(greeting.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
    client.socket.write(u32(3));
    return client;
  }
  async function replyType(client: TestClient): Promise<number> {
    const header = await client.readExact(20);
    await client.readExact(header.readUInt32BE(16));
    return header.readUInt32BE(12);
  }

  it('answers unknown options and STARTTLS with NBD_REP_ERR_UNSUP and keeps haggling', async () => {
    const server = await serve({ disk: new MemoryBlockDevice(4096) });
    const client = await haggle(server);
    client.sendOption(42, Buffer.from('whatever'));
    expect(await replyType(client)).toBe(0x8000_0001);
    client.sendOption(5, Buffer.alloc(0));
    expect(await replyType(client)).toBe(0x8000_0001);
    client.sendOption(9, Buffer.concat([u32(0), u32(0)])); // LIST_META_CONTEXT before structured replies
    expect(await replyType(client)).toBe(0x8000_0003);
    client.sendOption(7, Buffer.concat([u32(4), Buffer.from('nope'), u16(0)]));
    expect(await replyType(client)).toBe(0x8000_0006);
    client.sendOption(2, Buffer.alloc(0));
    expect(await replyType(client)).toBe(1);
    await client.waitClosed();
  });

  it('enters transmission with NBD_OPT_EXPORT_NAME and NO_ZEROES, and hangs up on an unknown name', async () => {
    const server = await serve({ disk: new MemoryBlockDevice(8192) });
    const client = await haggle(server);
    client.sendOption(1, Buffer.from('disk'));
    const reply = await client.readExact(10);
    expect(Number(reply.readBigUInt64BE(0))).toBe(8192);
    expect(reply.readUInt16BE(8) & 1).toBe(1);
    const unknown = await haggle(server);
    unknown.sendOption(1, Buffer.from('missing'));
    await unknown.waitClosed();
  });

  it('hangs up after nbdHandshakeOptionsMax options and on unknown client flags', async () => {
    const server = await serve({ disk: new MemoryBlockDevice(4096) });
    const chatty = await haggle(server);
    for (let index = 0; index < 100 && !chatty.isClosed; index += 1) {
      chatty.sendOption(42, Buffer.alloc(0));
      await replyType(chatty).catch(() => 0);
    }
    await chatty.waitClosed();
    const odd = await TestClient.raw(server.port);
    clients.push(odd);
    await odd.readExact(18);
    odd.socket.write(u32(0x80));
    await odd.waitClosed();
  });
});
