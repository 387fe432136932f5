// Method: round-trip one message of every raft type through the codec and the framer (split at
// every byte boundary), then fuzz: seeded random byte strings, and valid messages with random
// bytes flipped or cut, must each decode to a Message or throw TransportError, never anything else.
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type Message } from '../core/index.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { TransportError } from './errors.js';
import { encodeFrame, FrameDecoder } from './frame.js';

const envelope = { from: nodeId(1), to: nodeId(2), term: term(7) };
const bytes = (text: string) => new TextEncoder().encode(text);

const sampleMessages: Message[] = [
  { ...envelope, type: 'preVote', lastLogIndex: logIndex(10), lastLogTerm: term(6), transfer: false },
  { ...envelope, type: 'vote', lastLogIndex: logIndex(2 ** 40), lastLogTerm: term(6), transfer: true },
  { ...envelope, type: 'preVoteResp', granted: true },
  { ...envelope, type: 'voteResp', granted: false },
  {
    ...envelope, type: 'append', prevIndex: logIndex(4), prevTerm: term(5), commit: logIndex(3),
    entries: [
      { term: term(7), index: logIndex(5), type: 'normal', data: bytes('{"op":"put"}') },
      { term: term(7), index: logIndex(6), type: 'config', data: new Uint8Array(0) },
    ],
  },
  { ...envelope, type: 'append', prevIndex: logIndex(0), prevTerm: term(0), commit: logIndex(0), entries: [] },
  { ...envelope, type: 'appendResp', index: logIndex(9), reject: true, hintIndex: logIndex(3), hintTerm: term(2) },
  { ...envelope, type: 'heartbeat', commit: logIndex(8), context: 'read-1/ü' },
  { ...envelope, type: 'heartbeat', commit: logIndex(8), context: null },
  { ...envelope, type: 'heartbeatResp', context: 'read-1' },
  {
    ...envelope, type: 'snapshot', meta: { index: logIndex(100), term: term(3), membership: { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [nodeId(4)] } },
    offset: 10, totalBytes: 20, chunk: bytes('0123456789'),
  },
  { ...envelope, type: 'snapshotResp', snapshotIndex: logIndex(100), nextOffset: 20 },
  { ...envelope, type: 'timeoutNow' },
];

/** xorshift32: the tests' own seeded source, so a failing case replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
}

function decodeOrTypedError(input: Uint8Array): 'ok' | 'error' {
  try {
    decodeMessage(input);
    return 'ok';
  } catch (error) {
    if (error instanceof TransportError) return 'error';
    throw error;
  }
}

describe('raft transport codec', () => {
  it('round-trips every message type', () => {
    const types = new Set(sampleMessages.map((message) => message.type));
    expect(types.size).toBe(11);
    for (const message of sampleMessages) expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it('reassembles frames split at every byte boundary', () => {
    const stream = Buffer.concat(sampleMessages.map((message) => encodeFrame(encodeMessage(message))));
    for (const cut of [1, 2, 3, 7, 8, 9, 50, stream.length - 1]) {
      const decoder = new FrameDecoder();
      const payloads = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(payloads.map(decodeMessage)).toEqual(sampleMessages);
      expect(decoder.bufferedBytes()).toBe(0);
    }
  });

  it('rejects a frame whose checksum does not match, and one claiming too many bytes', () => {
    const frame = encodeFrame(encodeMessage(sampleMessages[0]));
    frame[frame.length - 1] ^= 0x40;
    expect(() => new FrameDecoder().push(frame)).toThrow(/ChecksumMismatch/);
    const huge = Buffer.alloc(8);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(() => new FrameDecoder().push(huge)).toThrow(/FrameTooLarge/);
  });

  it('rejects unknown versions and types, node id 0 and trailing bytes with typed errors', () => {
    const encoded = encodeMessage(sampleMessages[12]);
    expect(() => decodeMessage(Uint8Array.of(2, ...encoded.subarray(1)))).toThrow(/UnknownVersion/);
    expect(() => decodeMessage(Uint8Array.of(1, 99, ...encoded.subarray(2)))).toThrow(/UnknownType/);
    const zeroFrom = encoded.slice(); zeroFrom.fill(0, 2, 6);
    expect(() => decodeMessage(zeroFrom)).toThrow(/InvalidField/);
    expect(() => decodeMessage(Uint8Array.of(...encoded, 0))).toThrow(/TrailingBytes/);
  });

  it('fuzz: random bytes decode to a message or a typed error, never a crash', () => {
    const next = prng(20240501);
    for (let round = 0; round < 10_000; round++) {
      const length = next() % 96;
      const input = new Uint8Array(length);
      for (let k = 0; k < length; k++) input[k] = next() & 0xff;
      // Bias toward valid headers so the fuzz reaches the bodies.
      if (length > 1 && round % 2 === 0) { input[0] = 1; input[1] = next() % 12; }
      decodeOrTypedError(input);
    }
  });

  it('fuzz: valid messages with flipped or cut bytes decode or fail typed', () => {
    const next = prng(7);
    let errors = 0;
    for (let round = 0; round < 10_000; round++) {
      const encoded = encodeMessage(sampleMessages[next() % sampleMessages.length]);
      const mutated = round % 3 === 0 ? encoded.subarray(0, next() % encoded.length) : encoded.slice();
      if (round % 3 !== 0) for (let flips = 1 + (next() % 3); flips > 0; flips--) mutated[next() % mutated.length] = next() & 0xff;
      if (decodeOrTypedError(mutated) === 'error') errors++;
    }
    expect(errors).toBeGreaterThan(500);
  });
});
