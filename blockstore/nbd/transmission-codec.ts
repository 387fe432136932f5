// Pure codec of the transmission phase (proto.md "Transmission", "Command flags", "Request
// types", "Structured reply types"). Validation comes first and is complete (STYLE §2, after
// nbdkit's validate_request): a request header plus the negotiated session becomes either a typed
// NbdRequest, safe to execute, or an NbdError to answer — or, when the byte stream itself can no
// longer be trusted, a reason to hard-disconnect.
import { assert } from '../../dedup/errors.js';
import type { BlockExtent } from './block-device.js';
import { NbdError } from './errors.js';
import {
  nbdBlockStatusExtentsMax, nbdErrorMessageBytesMax, nbdReadChunksMax, nbdReadHoleBytesMin, nbdRequestBytesMax,
} from './limits.js';
import {
  command, commandFlag, nbdRequestMagic, nbdSimpleReplyMagic, nbdStructuredReplyMagic, replyFlagDone, replyType,
  stateHole, stateZero, transmissionFlag,
} from './protocol.js';

export const requestHeaderBytes = 28;

export interface RequestHeader {
  flags: number;
  type: number;
  /** Opaque 8 bytes echoed in every reply (proto.md "Transmission"): a private copy. */
  cookie: Buffer;
  /** Exact when ≤ Number.MAX_SAFE_INTEGER, else Infinity (out of every export's range anyway). */
  offset: number;
  length: number;
}

/** What was negotiated for this connection, fixed for the transmission phase. */
export interface TransmissionSession {
  sizeBytes: number;
  transmissionFlags: number;
  structuredReplies: boolean;
  /** Ids of the metadata contexts selected by the last NBD_OPT_SET_META_CONTEXT for this export. */
  metaContextIds: readonly number[];
}

interface Ranged { cookie: Buffer; offset: number; length: number }
export type NbdRead = Ranged & { kind: 'read' };
export type NbdWrite = Ranged & { kind: 'write'; fua: boolean };
export type NbdFlush = { kind: 'flush'; cookie: Buffer };
export type NbdTrim = Ranged & { kind: 'trim'; fua: boolean };
export type NbdCache = Ranged & { kind: 'cache' };
export type NbdWriteZeroes = Ranged & { kind: 'writeZeroes'; fua: boolean; noHole: boolean; fastZero: boolean };
export type NbdBlockStatus = Ranged & { kind: 'blockStatus'; reqOne: boolean };
export type NbdDisconnect = { kind: 'disconnect' };
export type NbdRequest = NbdRead | NbdWrite | NbdFlush | NbdTrim | NbdCache | NbdWriteZeroes | NbdBlockStatus | NbdDisconnect;

export type HeaderDecode = { ok: true; header: RequestHeader; payloadBytes: number } | { ok: false; reason: string };
export type RequestValidation = { ok: true; request: NbdRequest } | { ok: false; error: NbdError };

/** The transmission flags we advertise for a device (proto.md "Transmission flags"). Write-side
 * features are not offered on a read-only export; CAN_MULTI_CONN only if the device promises it. */
export function transmissionFlagsFor(device: { readOnly: boolean; canMultiConn: boolean }): number {
  let flags = transmissionFlag.hasFlags | transmissionFlag.sendFlush | transmissionFlag.sendCache;
  if (device.readOnly) flags |= transmissionFlag.readOnly;
  else {
    flags |= transmissionFlag.sendFua | transmissionFlag.sendTrim | transmissionFlag.sendWriteZeroes | transmissionFlag.sendFastZero;
  }
  if (device.canMultiConn) flags |= transmissionFlag.canMultiConn;
  return flags;
}

/** Frames one request. Only a bad magic or a WRITE payload above nbdRequestBytesMax is fatal:
 * the first means we lost the stream, the second is a denial of service we will not buffer
 * (proto.md "Size constraints": payloads above 2^25 MAY be treated so). */
export function decodeRequestHeader(bytes: Buffer): HeaderDecode {
  assert(bytes.length === requestHeaderBytes, 'request header is 28 bytes');
  if (bytes.readUInt32BE(0) !== nbdRequestMagic) return { ok: false, reason: 'bad request magic' };
  const offsetHigh = bytes.readUInt32BE(16);
  const offsetLow = bytes.readUInt32BE(20);
  const offset = offsetHigh < 0x20_0000 ? offsetHigh * 0x1_0000_0000 + offsetLow : Number.POSITIVE_INFINITY;
  const header: RequestHeader = {
    flags: bytes.readUInt16BE(4),
    type: bytes.readUInt16BE(6),
    cookie: Buffer.from(bytes.subarray(8, 16)),
    offset,
    length: bytes.readUInt32BE(24),
  };
  const payloadBytes = header.type === command.write ? header.length : 0;
  if (payloadBytes > nbdRequestBytesMax) return { ok: false, reason: `write payload ${payloadBytes} > ${nbdRequestBytesMax}` };
  return { ok: true, header, payloadBytes };
}

/** Command flags each command may carry beyond FUA (proto.md "Command flags"; DF is not offered). */
const flagsByCommand: ReadonlyMap<number, number> = new Map([
  [command.read, 0],
  [command.write, 0],
  [command.disc, 0],
  [command.flush, 0],
  [command.trim, 0],
  [command.cache, 0],
  [command.writeZeroes, commandFlag.noHole | commandFlag.fastZero],
  [command.blockStatus, commandFlag.reqOne],
]);

const writeCommands: ReadonlySet<number> = new Set([command.write, command.trim, command.writeZeroes]);

function reject(code: 'EINVAL' | 'EPERM' | 'ENOSPC' | 'EOVERFLOW', message: string): RequestValidation {
  return { ok: false, error: new NbdError(code, message) };
}

/** Validates a framed request against the session, in the order of proto.md "Error values":
 * unknown command or flag → EINVAL; write-side command on a read-only export → EPERM; feature
 * not negotiated → EINVAL; past the end → ENOSPC for writes, EINVAL otherwise. */
export function validateRequest(header: RequestHeader, session: TransmissionSession): RequestValidation {
  const { flags, type, cookie, offset, length } = header;
  const allowed = flagsByCommand.get(type);
  if (allowed === undefined) return reject('EINVAL', `unknown command ${type}`);
  if (type === command.disc) return { ok: true, request: { kind: 'disconnect' } };
  // proto.md NBD_CMD_FLAG_FUA: valid on every command once SEND_FUA is negotiated.
  const fuaAllowed = (session.transmissionFlags & transmissionFlag.sendFua) !== 0 ? commandFlag.fua : 0;
  if ((flags & ~(allowed | fuaAllowed)) !== 0) return reject('EINVAL', `command flags 0x${flags.toString(16)} not valid for command ${type}`);
  if (writeCommands.has(type) && (session.transmissionFlags & transmissionFlag.readOnly) !== 0) {
    return reject('EPERM', 'the export is read-only');
  }
  const negotiated = featureCheck(type, flags, session);
  if (negotiated) return negotiated;
  if (type === command.flush) {
    return offset === 0 && length === 0 ? { ok: true, request: { kind: 'flush', cookie } } : reject('EINVAL', 'flush offset and length must be zero');
  }
  if (offset > session.sizeBytes || length > session.sizeBytes - offset) {
    const writes = type === command.write || type === command.writeZeroes;
    return reject(writes ? 'ENOSPC' : 'EINVAL', `range ${offset}+${length} is past the end of the export (${session.sizeBytes} bytes)`);
  }
  // proto.md NBD_CMD_READ: a structured-reply server MAY reject large reads with EOVERFLOW; with
  // simple replies the client MUST NOT exceed the maximum payload, so it is a plain EINVAL.
  if (type === command.read && length > nbdRequestBytesMax) {
    return reject(session.structuredReplies ? 'EOVERFLOW' : 'EINVAL', `read of ${length} bytes > ${nbdRequestBytesMax}`);
  }
  if (type === command.blockStatus && length === 0) return reject('EINVAL', 'block status of zero bytes');
  return { ok: true, request: typedRequest(header) };
}

/** proto.md: "The client MUST NOT use a feature documented as 'exposed' by a flag unless that flag was set." */
function featureCheck(type: number, flags: number, session: TransmissionSession): RequestValidation | undefined {
  const has = (flag: number) => (session.transmissionFlags & flag) !== 0;
  if (type === command.flush && !has(transmissionFlag.sendFlush)) return reject('EINVAL', 'flush was not negotiated');
  if (type === command.trim && !has(transmissionFlag.sendTrim)) return reject('EINVAL', 'trim was not negotiated');
  if (type === command.writeZeroes && !has(transmissionFlag.sendWriteZeroes)) return reject('EINVAL', 'write zeroes was not negotiated');
  if ((flags & commandFlag.fastZero) !== 0 && !has(transmissionFlag.sendFastZero)) return reject('EINVAL', 'fast zero was not negotiated');
  if (type === command.blockStatus && (!session.structuredReplies || session.metaContextIds.length === 0)) {
    return reject('EINVAL', 'block status needs structured replies and a selected metadata context');
  }
  return undefined;
}

function typedRequest(header: RequestHeader): NbdRequest {
  const { flags, type, cookie, offset, length } = header;
  const fua = (flags & commandFlag.fua) !== 0;
  switch (type) {
    case command.read: return { kind: 'read', cookie, offset, length };
    case command.write: return { kind: 'write', cookie, offset, length, fua };
    case command.trim: return { kind: 'trim', cookie, offset, length, fua };
    case command.cache: return { kind: 'cache', cookie, offset, length };
    case command.writeZeroes:
      return {
        kind: 'writeZeroes', cookie, offset, length, fua,
        noHole: (flags & commandFlag.noHole) !== 0, fastZero: (flags & commandFlag.fastZero) !== 0,
      };
    case command.blockStatus: return { kind: 'blockStatus', cookie, offset, length, reqOne: (flags & commandFlag.reqOne) !== 0 };
    default: throw new Error(`unreachable: command ${type} passed validation`);
  }
}

// ---- replies ----

/** proto.md "Simple reply message": magic, error, cookie (then read data on success). */
export function encodeSimpleReply(cookie: Buffer, errno: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeUInt32BE(nbdSimpleReplyMagic, 0);
  buffer.writeUInt32BE(errno, 4);
  cookie.copy(buffer, 8);
  return buffer;
}

/** proto.md "Structured reply chunk message" header followed by `prefix` (a chunk's fixed fields);
 * `trailingBytes` more payload bytes (read data) are written after it by the caller. */
function encodeChunk(cookie: Buffer, flags: number, type: number, prefix: Buffer, trailingBytes = 0): Buffer {
  const buffer = Buffer.alloc(20 + prefix.length);
  buffer.writeUInt32BE(nbdStructuredReplyMagic, 0);
  buffer.writeUInt16BE(flags, 4);
  buffer.writeUInt16BE(type, 6);
  cookie.copy(buffer, 8);
  buffer.writeUInt32BE(prefix.length + trailingBytes, 16);
  prefix.copy(buffer, 20);
  return buffer;
}

export function encodeNoneChunk(cookie: Buffer): Buffer {
  return encodeChunk(cookie, replyFlagDone, replyType.none, Buffer.alloc(0));
}

/** NBD_REPLY_TYPE_OFFSET_DATA header + offset; the caller writes `dataBytes` of data after it. */
export function encodeOffsetDataHeader(cookie: Buffer, done: boolean, offset: number, dataBytes: number): Buffer {
  assert(dataBytes >= 1, 'proto.md: OFFSET_DATA length MUST be at least 9');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64BE(BigInt(offset), 0);
  return encodeChunk(cookie, done ? replyFlagDone : 0, replyType.offsetData, prefix, dataBytes);
}

export function encodeOffsetHole(cookie: Buffer, done: boolean, offset: number, holeBytes: number): Buffer {
  assert(holeBytes >= 1 && holeBytes <= 0xffff_ffff, 'proto.md: hole size is nonzero and 32 bits');
  const prefix = Buffer.alloc(12);
  prefix.writeBigUInt64BE(BigInt(offset), 0);
  prefix.writeUInt32BE(holeBytes, 8);
  return encodeChunk(cookie, done ? replyFlagDone : 0, replyType.offsetHole, prefix);
}

/** NBD_REPLY_TYPE_ERROR, always the final chunk here. */
export function encodeErrorChunk(cookie: Buffer, errno: number, message: string): Buffer {
  assert(errno !== 0, 'proto.md: error MUST be nonzero');
  let text = Buffer.from(message, 'utf8');
  if (text.length > nbdErrorMessageBytesMax) text = text.subarray(0, nbdErrorMessageBytesMax);
  const prefix = Buffer.alloc(6 + text.length);
  prefix.writeUInt32BE(errno, 0);
  prefix.writeUInt16BE(text.length, 4);
  text.copy(prefix, 6);
  return encodeChunk(cookie, replyFlagDone, replyType.error, prefix);
}

export interface StatusDescriptor { length: number; flags: number }

export function encodeBlockStatusChunk(cookie: Buffer, done: boolean, contextId: number, descriptors: readonly StatusDescriptor[]): Buffer {
  assert(descriptors.length >= 1, 'proto.md: at least one descriptor');
  const prefix = Buffer.alloc(4 + 8 * descriptors.length);
  prefix.writeUInt32BE(contextId, 0);
  descriptors.forEach((descriptor, index) => {
    assert(descriptor.length > 0 && descriptor.length <= 0xffff_ffff, 'proto.md: descriptor length is nonzero');
    prefix.writeUInt32BE(descriptor.length, 4 + 8 * index);
    prefix.writeUInt32BE(descriptor.flags, 8 + 8 * index);
  });
  return encodeChunk(cookie, done ? replyFlagDone : 0, replyType.blockStatus, prefix);
}

/** base:allocation descriptors for a device's extents (proto.md NBD_CMD_BLOCK_STATUS): clipped to
 * the request, one only under REQ_ONE, at most nbdBlockStatusExtentsMax, equal neighbours merged. */
export function planBlockStatus(extents: readonly BlockExtent[], requestedBytes: number, reqOne: boolean): StatusDescriptor[] {
  const descriptors: StatusDescriptor[] = [];
  let covered = 0;
  for (const extent of extents) {
    if (covered >= requestedBytes) break;
    const length = Math.min(extent.length, requestedBytes - covered);
    const flags = (extent.hole ? stateHole : 0) | (extent.zero ? stateZero : 0);
    const last = descriptors[descriptors.length - 1];
    if (last && last.flags === flags && last.length + length <= 0xffff_ffff) last.length += length;
    else descriptors.push({ length, flags });
    covered += length;
    if (descriptors.length >= nbdBlockStatusExtentsMax) break;
  }
  const planned = reqOne ? descriptors.slice(0, 1) : descriptors;
  assert(planned.length >= 1 && planned.reduce((sum, descriptor) => sum + descriptor.length, 0) <= requestedBytes,
    'block status describes at least one extent and no more than asked');
  return planned;
}

export interface ReadPiece { kind: 'data' | 'hole'; offset: number; length: number }

/** Splits a structured READ reply into content chunks (proto.md NBD_REPLY_TYPE_OFFSET_HOLE):
 * zero extents of at least nbdReadHoleBytesMin become holes, everything else (including the part
 * the device did not describe) is data; at most nbdReadChunksMax pieces, covering the request exactly. */
export function planReadPieces(offset: number, length: number, extents: readonly BlockExtent[]): ReadPiece[] {
  const pieces: ReadPiece[] = [];
  const push = (kind: 'data' | 'hole', pieceOffset: number, pieceLength: number) => {
    const last = pieces[pieces.length - 1];
    const forced = pieces.length >= nbdReadChunksMax - 1 ? 'data' : kind;
    if (last && last.kind === forced) last.length += pieceLength;
    else pieces.push({ kind: forced, offset: pieceOffset, length: pieceLength });
  };
  let position = offset;
  const end = offset + length;
  for (const extent of extents) {
    if (position >= end) break;
    const pieceLength = Math.min(extent.length, end - position);
    push(extent.zero && pieceLength >= nbdReadHoleBytesMin ? 'hole' : 'data', position, pieceLength);
    position += pieceLength;
  }
  if (position < end) push('data', position, end - position);
  assert(pieces.length <= nbdReadChunksMax && pieces.reduce((sum, piece) => sum + piece.length, 0) === length,
    'read pieces cover the request exactly');
  return pieces;
}
