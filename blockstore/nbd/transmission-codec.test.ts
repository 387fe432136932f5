// Method: request headers are built by hand per proto.md "Request message" and validated against
// sessions with and without each negotiated feature; each rule of proto.md "Error values" has a
// case. Reply encoders and the read/block-status planners are checked on their invariants.
import { describe, expect, it } from 'vitest';
import { nbdReadChunksMax, nbdRequestBytesMax } from './limits.js';
import { transmissionFlag } from './protocol.js';
import {
  decodeRequestHeader, encodeBlockStatusChunk, encodeErrorChunk, encodeOffsetHole, encodeSimpleReply, planBlockStatus,
  planReadPieces, type RequestHeader, type TransmissionSession, transmissionFlagsFor, validateRequest,
} from './transmission-codec.js';

const writable = transmissionFlagsFor({ readOnly: false, canMultiConn: true });
const readOnly = transmissionFlagsFor({ readOnly: true, canMultiConn: false });
const session: TransmissionSession = { sizeBytes: 1 << 20, transmissionFlags: writable, structuredReplies: true, metaContextIds: [1] };
const cookie = Buffer.alloc(8, 7);
const header = (type: number, offset: number, length: number, flags = 0): RequestHeader => ({ type, offset, length, flags, cookie });
const errorOf = (result: ReturnType<typeof validateRequest>) => (result.ok ? 'ok' : result.error.code);

function rawHeader(type: number, offsetHigh: number, offsetLow: number, length: number, magic = 0x25609513): Buffer {
  const bytes = Buffer.alloc(28);
  bytes.writeUInt32BE(magic, 0);
  bytes.writeUInt16BE(type, 6);
  bytes.writeUInt32BE(offsetHigh, 16);
  bytes.writeUInt32BE(offsetLow, 20);
  bytes.writeUInt32BE(length, 24);
  return bytes;
}

describe('transmissionFlagsFor', () => {
  it('offers write-side features only on writable exports, multi-conn only when promised', () => {
    expect(writable & transmissionFlag.canMultiConn).not.toBe(0);
    expect(writable & transmissionFlag.sendFastZero).not.toBe(0);
    expect(readOnly & transmissionFlag.readOnly).not.toBe(0);
    expect(readOnly & (transmissionFlag.sendTrim | transmissionFlag.sendWriteZeroes | transmissionFlag.canMultiConn)).toBe(0);
    expect(readOnly & transmissionFlag.hasFlags).toBe(1);
  });
});

describe('decodeRequestHeader', () => {
  it('frames a write with its payload length and copies the cookie', () => {
    const decoded = decodeRequestHeader(rawHeader(1, 0, 512, 4096));
    expect(decoded).toMatchObject({ ok: true, payloadBytes: 4096, header: { type: 1, offset: 512, length: 4096 } });
  });

  it('is fatal on a bad magic or a write larger than nbdRequestBytesMax', () => {
    expect(decodeRequestHeader(rawHeader(0, 0, 0, 1, 0x25609514)).ok).toBe(false);
    expect(decodeRequestHeader(rawHeader(1, 0, 0, nbdRequestBytesMax + 1)).ok).toBe(false);
    expect(decodeRequestHeader(rawHeader(0, 0, 0, nbdRequestBytesMax + 1)).ok).toBe(true); // no payload: an EINVAL later
  });

  it('represents offsets beyond 2^53 as Infinity, which is out of range', () => {
    const decoded = decodeRequestHeader(rawHeader(0, 0xffff_ffff, 0, 1));
    expect(decoded.ok && decoded.header.offset).toBe(Number.POSITIVE_INFINITY);
    expect(decoded.ok && errorOf(validateRequest(decoded.header, session))).toBe('EINVAL');
  });
});

describe('validateRequest', () => {
  it('accepts in-range reads and writes, with FUA when negotiated', () => {
    expect(validateRequest(header(0, 0, 4096), session)).toMatchObject({ ok: true, request: { kind: 'read', offset: 0, length: 4096 } });
    expect(validateRequest(header(1, 4096, 4096, 1), session)).toMatchObject({ ok: true, request: { kind: 'write', fua: true } });
    expect(validateRequest(header(0, (1 << 20) - 1, 1), session).ok).toBe(true);
  });

  it('answers past-the-end with EINVAL for reads/trim/status and ENOSPC for writes (proto.md "Error values")', () => {
    expect(errorOf(validateRequest(header(0, 1 << 20, 1), session))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(4, (1 << 20) - 1, 2), session))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(7, (1 << 20) + 1, 0), session))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(1, (1 << 20) - 1, 2), session))).toBe('ENOSPC');
    expect(errorOf(validateRequest(header(6, 2 << 20, 1), session))).toBe('ENOSPC');
  });

  it('answers EPERM to write, trim and write-zeroes on a read-only export, before anything else', () => {
    const ro = { ...session, transmissionFlags: readOnly };
    for (const type of [1, 4, 6]) expect(errorOf(validateRequest(header(type, 0, 1), ro))).toBe('EPERM');
    expect(validateRequest(header(0, 0, 1), ro).ok).toBe(true);
    expect(validateRequest(header(3, 0, 0), ro).ok).toBe(true);
  });

  it('answers EINVAL to unknown commands and to flags not valid for the command or not negotiated', () => {
    expect(errorOf(validateRequest(header(99, 0, 1), session))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(0, 0, 1, 1 << 2), session))).toBe('EINVAL'); // DF is not offered
    expect(errorOf(validateRequest(header(1, 0, 1, 1 << 3), session))).toBe('EINVAL'); // REQ_ONE on write
    expect(errorOf(validateRequest(header(6, 0, 1, 1 << 4), { ...session, transmissionFlags: writable & ~transmissionFlag.sendFastZero }))).toBe('EINVAL');
    expect(validateRequest(header(6, 0, 1, (1 << 4) | (1 << 1) | 1), session)).toMatchObject({ ok: true, request: { fastZero: true, noHole: true, fua: true } });
    expect(errorOf(validateRequest(header(0, 0, 1, 1), { ...session, transmissionFlags: readOnly }))).toBe('EINVAL'); // FUA not negotiated
  });

  it('refuses block status without structured replies or a selected context', () => {
    expect(validateRequest(header(7, 0, 512, 1 << 3), session)).toMatchObject({ ok: true, request: { kind: 'blockStatus', reqOne: true } });
    expect(errorOf(validateRequest(header(7, 0, 512), { ...session, metaContextIds: [] }))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(7, 0, 512), { ...session, structuredReplies: false }))).toBe('EINVAL');
    expect(errorOf(validateRequest(header(7, 0, 0), session))).toBe('EINVAL');
  });

  it('refuses a flush with nonzero offset or length and oversized reads', () => {
    expect(errorOf(validateRequest(header(3, 1, 0), session))).toBe('EINVAL');
    const big = { ...session, sizeBytes: 2 ** 40 };
    expect(errorOf(validateRequest(header(0, 0, nbdRequestBytesMax + 1), big))).toBe('EOVERFLOW');
    expect(errorOf(validateRequest(header(0, 0, nbdRequestBytesMax + 1), { ...big, structuredReplies: false }))).toBe('EINVAL');
    expect(validateRequest(header(4, 0, 0xffff_ffff), big).ok).toBe(true); // trim: effect length, no payload
  });

  it('turns DISC into a disconnect whatever its fields', () => {
    expect(validateRequest(header(2, 5, 5), session)).toEqual({ ok: true, request: { kind: 'disconnect' } });
  });
});

describe('reply encoders', () => {
  it('encodeSimpleReply: magic, errno, cookie', () => {
    const reply = encodeSimpleReply(cookie, 22);
    expect(reply.readUInt32BE(0)).toBe(0x67446698);
    expect(reply.readUInt32BE(4)).toBe(22);
    expect(reply.subarray(8)).toEqual(cookie);
  });

  it('encodeOffsetHole is a 12-byte payload; encodeErrorChunk is final and carries the message', () => {
    const hole = encodeOffsetHole(cookie, true, 4096, 8192);
    expect([hole.readUInt16BE(4), hole.readUInt16BE(6), hole.readUInt32BE(16), hole.readUInt32BE(28)]).toEqual([1, 2, 12, 8192]);
    const error = encodeErrorChunk(cookie, 1, 'read-only');
    expect([error.readUInt16BE(4), error.readUInt16BE(6), error.readUInt32BE(20), error.readUInt16BE(24)]).toEqual([1, 0x8001, 1, 9]);
    expect(() => encodeErrorChunk(cookie, 0, 'x')).toThrow();
  });

  it('encodeBlockStatusChunk: context id then (length, flags) pairs', () => {
    const chunk = encodeBlockStatusChunk(cookie, true, 1, [{ length: 512, flags: 3 }, { length: 1024, flags: 0 }]);
    expect(chunk.readUInt32BE(16)).toBe(4 + 16);
    expect([chunk.readUInt32BE(20), chunk.readUInt32BE(24), chunk.readUInt32BE(28), chunk.readUInt32BE(32)]).toEqual([1, 512, 3, 1024]);
  });
});

describe('planners', () => {
  it('planBlockStatus clips to the request, merges equal neighbours, and keeps one under REQ_ONE', () => {
    const extents = [{ length: 100, hole: true, zero: true }, { length: 100, hole: true, zero: true }, { length: 300, hole: false, zero: false }];
    expect(planBlockStatus(extents, 250, false)).toEqual([{ length: 200, flags: 3 }, { length: 50, flags: 0 }]);
    expect(planBlockStatus(extents, 250, true)).toEqual([{ length: 200, flags: 3 }]);
  });

  it('planReadPieces sends large zero extents as holes and covers the request exactly', () => {
    const extents = [{ length: 8192, hole: false, zero: false }, { length: 65536, hole: true, zero: true }, { length: 100, hole: true, zero: true }];
    expect(planReadPieces(1000, 80000, extents)).toEqual([
      { kind: 'data', offset: 1000, length: 8192 },
      { kind: 'hole', offset: 9192, length: 65536 },
      { kind: 'data', offset: 74728, length: 6272 },
    ]);
  });

  it('planReadPieces merges small holes into data and caps the number of chunks', () => {
    const alternating = Array.from({ length: 2000 }, (_, index) => ({ length: 8192, hole: index % 2 === 1, zero: index % 2 === 1 }));
    const pieces = planReadPieces(0, 2000 * 8192, alternating);
    expect(pieces.length).toBeLessThanOrEqual(nbdReadChunksMax);
    expect(pieces.reduce((sum, piece) => sum + piece.length, 0)).toBe(2000 * 8192);
    expect(planReadPieces(0, 4096, [{ length: 100, hole: true, zero: true }])).toEqual([{ kind: 'data', offset: 0, length: 4096 }]);
  });
});
