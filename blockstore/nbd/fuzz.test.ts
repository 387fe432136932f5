// Method: seeded fuzzing (STYLE §9: one seed drives everything; a failure prints its seed).
// 2,400 byte streams are thrown at one server: 1,200 at the handshake (valid option sequences
// mutated by bit flips, truncation, insertion, splicing, and pure noise) and 1,200 at transmission
// (a valid GO, then mutated request sequences). Fuzzed streams only ever reach the read-only export
// `fuzz` or unknown names. Between batches a bystander connection writes and reads the writable
// export. At the end: every fuzzed connection was closed by the server (no hang), the bystander
// never failed, the read-only device's content digest is unchanged, no error was logged (an
// AssertionError would be), and a fresh connection still works.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NbdLogger } from './logger.js';
import { MemoryBlockDevice, MemoryExportRegistry } from './memory-block-device.js';
import { type NbdServer, startNbdServer } from './server.js';
import { TestClient, seededRandom, u16, u32 } from './test-client.js';
import { pseudoRandomBytes } from './test-tools.js';

const seed = Number(process.env.NBD_FUZZ_SEED ?? 20240611);
const streamsPerPhase = 1200;
const batchSize = 60;
const connectionTimeoutMs = 5_000;
const bystanderName = 'bystander-writable-7f3a';

const fuzzDevice = new MemoryBlockDevice(1 << 20);
const bystanderDevice = new MemoryBlockDevice(1 << 20);
const errors: string[] = [];
const logger: NbdLogger = { info() {}, warn() {}, error(fields, message) { errors.push(`${message} ${String(fields.err)}`); } };
/** Calls that reached the read-only device: proof the fuzz gets past validation, not only into it. */
let fuzzDeviceCalls = 0;
let server: NbdServer;
let bystander: TestClient;

beforeAll(async () => {
  await fuzzDevice.write(0, pseudoRandomBytes(512 * 1024, seed), false);
  const exported = fuzzDevice.readOnlyCopy();
  const counted = Object.assign(Object.create(exported) as MemoryBlockDevice, {
    read: (offset: number, length: number) => { fuzzDeviceCalls += 1; return exported.read(offset, length); },
    blockStatus: (offset: number, length: number) => { fuzzDeviceCalls += 1; return exported.blockStatus(offset, length); },
    cache: (offset: number, length: number) => { fuzzDeviceCalls += 1; return exported.cache(offset, length); },
  });
  const registry = new MemoryExportRegistry({ fuzz: counted, [bystanderName]: bystanderDevice });
  server = await startNbdServer({ host: '127.0.0.1', port: 0, registry, logger });
  bystander = await TestClient.open(server.port, bystanderName, { structured: true, metaContext: true });
});

afterAll(async () => {
  bystander?.close();
  await server?.close();
});

type Random = () => number;
const integer = (random: Random, below: number) => Math.floor(random() * below);
const option = (code: number, payload: Buffer) => Buffer.concat([Buffer.from('IHAVEOPT'), u32(code), u32(payload.length), payload]);
const named = (name: string) => Buffer.from(name);

function validHandshake(random: Random, name: string): Buffer {
  const parts = [u32(integer(random, 4) === 0 ? 1 : 3)];
  const choices = [
    () => option(8, Buffer.alloc(0)),
    () => option(10, Buffer.concat([u32(name.length), named(name), u32(1), u32(15), named('base:allocation')])),
    () => option(9, Buffer.concat([u32(name.length), named(name), u32(0)])),
    () => option(3, Buffer.alloc(0)),
    () => option(6, Buffer.concat([u32(name.length), named(name), u16(2), u16(3), u16(1)])),
    () => option(5, Buffer.alloc(0)),
    () => option(integer(random, 20), pseudoRandomBytes(integer(random, 40), integer(random, 1e9))),
  ];
  for (let count = integer(random, 5); count > 0; count -= 1) parts.push(choices[integer(random, choices.length)]());
  parts.push(integer(random, 3) === 0
    ? option(1, named(name))
    : option(7, Buffer.concat([u32(name.length), named(name), u16(1), u16(3)])));
  return Buffer.concat(parts);
}

/** Mostly well-formed requests (reads and block status dominate, DISC is rare) so that mutations
 * land on requests the server would otherwise execute. */
const requestTypes = [0, 0, 0, 0, 7, 7, 7, 5, 1, 1, 3, 4, 6];
function request(random: Random): Buffer {
  const header = Buffer.alloc(28);
  header.writeUInt32BE(0x25609513, 0);
  const type = integer(random, 20) === 0 ? (integer(random, 3) === 0 ? 2 : integer(random, 65536)) : requestTypes[integer(random, requestTypes.length)];
  const flags = integer(random, 5) === 0 ? integer(random, 65536) : (type === 7 && integer(random, 2) === 0 ? 8 : 0);
  header.writeUInt16BE(flags, 4);
  header.writeUInt16BE(type, 6);
  header.writeUInt32BE(integer(random, 2 ** 32), 8);
  const offset = type === 3 ? 0 : integer(random, 6) === 0 ? integer(random, 2 ** 32) * 2 ** 21 : integer(random, 1 << 20);
  header.writeBigUInt64BE(BigInt(offset), 16);
  // A write header always carries its payload here: damage to framing is mutate()'s job.
  const length = type === 3 ? 0 : integer(random, 6) === 0 && type !== 1 ? integer(random, 2 ** 32) : 1 + integer(random, 70_000);
  header.writeUInt32BE(length, 24);
  const payload = type === 1 ? Buffer.alloc(length, integer(random, 256)) : Buffer.alloc(0);
  return Buffer.concat([header, payload]);
}

/** Bit flips, truncation, random insertion, splicing of its own bytes, or plain noise. */
function mutate(random: Random, stream: Buffer, protectedPrefix: number): Buffer {
  let bytes = Buffer.from(stream);
  for (let rounds = 1 + integer(random, 4); rounds > 0; rounds -= 1) {
    const at = protectedPrefix + integer(random, Math.max(1, bytes.length - protectedPrefix));
    switch (integer(random, 5)) {
      case 0: if (at < bytes.length) bytes[at] ^= 1 << integer(random, 8); break;
      case 1: bytes = bytes.subarray(0, at); break;
      case 2: bytes = Buffer.concat([bytes.subarray(0, at), pseudoRandomBytes(1 + integer(random, 32), integer(random, 1e9)), bytes.subarray(at)]); break;
      case 3: {
        const from = integer(random, bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(from, from + integer(random, 64)), bytes.subarray(at)]);
        break;
      }
      default: if (at < bytes.length) bytes[at] = integer(random, 256);
    }
  }
  return bytes;
}

/** Sends the stream in random pieces, half-closes, drains replies; resolves with whether the server closed in time. */
function throwStream(random: Random, stream: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: server.port });
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, connectionTimeoutMs);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(true); });
    socket.on('connect', () => {
      let position = 0;
      while (position < stream.length) {
        const piece = 1 + integer(random, 512);
        socket.write(stream.subarray(position, position + piece));
        position += piece;
      }
      socket.end();
    });
  });
}

async function checkBystander(round: number): Promise<void> {
  const data = Buffer.alloc(4096, round & 0xff);
  const offset = (round % 200) * 4096;
  expect((await bystander.write(offset, data)).errno, `seed ${seed} round ${round}`).toBe(0);
  const reply = await bystander.read(offset, 4096);
  expect(reply.errno, `seed ${seed} round ${round}`).toBe(0);
  expect(reply.data!.equals(data), `seed ${seed} round ${round}`).toBe(true);
}

async function runPhase(label: string, makeStream: (random: Random, index: number) => Buffer): Promise<void> {
  const random = seededRandom(seed ^ label.length);
  const digest = fuzzDevice.contentDigest();
  let hung = 0;
  for (let batch = 0; batch < streamsPerPhase / batchSize; batch += 1) {
    const streams = Array.from({ length: batchSize }, (_, index) => makeStream(random, batch * batchSize + index));
    const closed = await Promise.all(streams.map((stream) => throwStream(random, stream)));
    hung += closed.filter((ok) => !ok).length;
    await checkBystander(batch);
  }
  expect(hung, `seed ${seed}: connections the server never closed`).toBe(0);
  expect(errors, `seed ${seed}: server logged errors`).toEqual([]);
  expect(fuzzDevice.contentDigest()).toBe(digest);
  const fresh = await TestClient.open(server.port, 'fuzz', { structured: true });
  const reply = await fresh.read(0, 4096);
  fresh.close();
  expect(reply.data!.equals(await fuzzDevice.read(0, 4096)), `seed ${seed}: fresh read after ${label}`).toBe(true);
}

describe(`NBD server under fuzzing (seed ${seed}, NBD_FUZZ_SEED to replay)`, () => {
  it(`survives ${streamsPerPhase} mutated or random handshake streams`, async () => {
    await runPhase('handshake', (random, index) => {
      if (index % 10 === 0) return pseudoRandomBytes(integer(random, 300), integer(random, 1e9));
      const name = integer(random, 5) === 0 ? 'no-such-export' : 'fuzz';
      const base = Buffer.concat([validHandshake(random, name), request(random), request(random)]);
      return mutate(random, base, 0);
    });
  });

  it(`survives ${streamsPerPhase} mutated or random transmission streams`, async () => {
    const callsBefore = fuzzDeviceCalls;
    await runPhase('transmission', (random, index) => {
      const handshake = validHandshake(random, 'fuzz');
      const requests = Array.from({ length: 2 + integer(random, 10) }, () => request(random));
      if (index % 10 === 0) return Buffer.concat([handshake, pseudoRandomBytes(integer(random, 500), integer(random, 1e9))]);
      // Requests before the mutated one are intact, so the server executes them before it meets the damage.
      const damaged = integer(random, requests.length);
      return Buffer.concat([handshake, ...requests.slice(0, damaged), mutate(random, Buffer.concat(requests.slice(damaged)), 0)]);
    });
    expect(fuzzDeviceCalls - callsBefore, `seed ${seed}: requests that reached the device`).toBeGreaterThan(500);
  });
});
