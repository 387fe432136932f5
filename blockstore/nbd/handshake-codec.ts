// Pure codec of the fixed newstyle handshake (proto.md "Newstyle negotiation", "Fixed newstyle
// negotiation", "Option types", "Option reply types"). Bytes in → typed options or a typed
// refusal; typed replies → bytes. No I/O: handshake.ts is the shell that reads, asks the
// registry and writes.
import { assert } from '../../dedup/errors.js';
import {
  baseAllocationContext, clientFlagFixedNewstyle, clientFlagNoZeroes, handshakeFlagFixedNewstyle,
  handshakeFlagNoZeroes, info, nbdMagic, nbdOptionMagic, nbdOptionReplyMagic, option, optionReply,
} from './protocol.js';
import { nbdInfoRequestsMax, nbdMetaQueriesMax, nbdOptionBytesMax, nbdStringBytesMax } from './limits.js';

export const greetingBytes = 18;
export const clientFlagsBytes = 4;
export const optionHeaderBytes = 16;
export const serverHandshakeFlags = handshakeFlagFixedNewstyle | handshakeFlagNoZeroes;

/** What the client asked for, validated. `name` is always a proto.md string. */
export type NbdOption =
  | { kind: 'exportName'; name: string }
  | { kind: 'abort' }
  | { kind: 'list' }
  | { kind: 'startTls' }
  | { kind: 'info' | 'go'; name: string; infoRequests: number[] }
  | { kind: 'structuredReply' }
  | { kind: 'listMetaContext' | 'setMetaContext'; name: string; queries: string[] }
  | { kind: 'unknown'; code: number };

/** A refusal answered with an option error reply (or, for NBD_OPT_EXPORT_NAME, a hard disconnect). */
export interface OptionRefusal { reply: number; message: string }

export type OptionParse = { ok: true; option: NbdOption } | { ok: false; refusal: OptionRefusal };

export interface OptionHeader { code: number; length: number }

/** S: NBDMAGIC, IHAVEOPT, 16-bit handshake flags (proto.md "Newstyle negotiation"). */
export function encodeGreeting(): Buffer {
  const buffer = Buffer.alloc(greetingBytes);
  buffer.writeBigUInt64BE(nbdMagic, 0);
  buffer.writeBigUInt64BE(nbdOptionMagic, 8);
  buffer.writeUInt16BE(serverHandshakeFlags, 16);
  return buffer;
}

/** proto.md "Client flags": the server MUST drop the connection on an unknown flag or one it did
 * not advertise. We honour fixed newstyle even if the client did not set it (the MAY). */
export function decodeClientFlags(bytes: Buffer): { ok: true; noZeroes: boolean } | { ok: false; reason: string } {
  assert(bytes.length === clientFlagsBytes, 'client flags are 32 bits');
  const flags = bytes.readUInt32BE(0);
  const known = clientFlagFixedNewstyle | clientFlagNoZeroes;
  if ((flags & ~known) !== 0) return { ok: false, reason: `unknown client flags 0x${flags.toString(16)}` };
  return { ok: true, noZeroes: (flags & clientFlagNoZeroes) !== 0 };
}

/** C: IHAVEOPT, option, length. A wrong magic or an oversized payload ends the session: we cannot
 * resynchronise on the one hand, and proto.md lets us hard-disconnect a denial of service on the other. */
export function decodeOptionHeader(bytes: Buffer): { ok: true; header: OptionHeader } | { ok: false; reason: string } {
  assert(bytes.length === optionHeaderBytes, 'option header is 16 bytes');
  if (bytes.readBigUInt64BE(0) !== nbdOptionMagic) return { ok: false, reason: 'bad option magic' };
  const header = { code: bytes.readUInt32BE(8), length: bytes.readUInt32BE(12) };
  if (header.length > nbdOptionBytesMax) return { ok: false, reason: `option payload ${header.length} > ${nbdOptionBytesMax}` };
  return { ok: true, header };
}

function invalid(message: string): OptionParse {
  return { ok: false, refusal: { reply: optionReply.errInvalid, message } };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** proto.md "Conventions": UTF-8, no NUL, ≤ 4096 bytes. */
function decodeString(bytes: Buffer): string | undefined {
  if (bytes.length > nbdStringBytesMax || bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parses an option payload (already read, length from its header) into a typed option. */
export function parseOption(code: number, payload: Buffer): OptionParse {
  switch (code) {
    case option.exportName: {
      const name = decodeString(payload);
      return name === undefined ? invalid('export name is not a valid string') : { ok: true, option: { kind: 'exportName', name } };
    }
    // proto.md NBD_OPT_ABORT: the server SHOULD ignore any data sent with it.
    case option.abort: return { ok: true, option: { kind: 'abort' } };
    case option.list:
      return payload.length === 0 ? { ok: true, option: { kind: 'list' } } : invalid('NBD_OPT_LIST carries no data');
    case option.startTls: return { ok: true, option: { kind: 'startTls' } };
    case option.info:
    case option.go: return parseInfoOrGo(code === option.info ? 'info' : 'go', payload);
    case option.structuredReply:
      return payload.length === 0 ? { ok: true, option: { kind: 'structuredReply' } } : invalid('NBD_OPT_STRUCTURED_REPLY carries no data');
    case option.listMetaContext:
    case option.setMetaContext: return parseMetaContext(code === option.listMetaContext ? 'listMetaContext' : 'setMetaContext', payload);
    default: return { ok: true, option: { kind: 'unknown', code } };
  }
}

/** proto.md NBD_OPT_INFO / NBD_OPT_GO data: name length, name, count, count × 16-bit requests. */
function parseInfoOrGo(kind: 'info' | 'go', payload: Buffer): OptionParse {
  if (payload.length < 6) return invalid('info/go payload shorter than 6 bytes');
  const nameLength = payload.readUInt32BE(0);
  if (nameLength > payload.length - 6) return invalid('export name longer than the option');
  const name = decodeString(payload.subarray(4, 4 + nameLength));
  if (name === undefined) return invalid('export name is not a valid string');
  const count = payload.readUInt16BE(4 + nameLength);
  if (payload.length !== 4 + nameLength + 2 + 2 * count) return invalid('info request count does not match the option length');
  if (count > nbdInfoRequestsMax) return { ok: false, refusal: { reply: optionReply.errTooBig, message: 'too many info requests' } };
  const infoRequests: number[] = [];
  for (let index = 0; index < count; index += 1) infoRequests.push(payload.readUInt16BE(4 + nameLength + 2 + 2 * index));
  return { ok: true, option: { kind, name, infoRequests } };
}

/** proto.md NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT data. A query that reads past the
 * option is syntactically invalid → NBD_REP_ERR_INVALID (a MUST). */
function parseMetaContext(kind: 'listMetaContext' | 'setMetaContext', payload: Buffer): OptionParse {
  if (payload.length < 8) return invalid('meta context payload shorter than 8 bytes');
  const nameLength = payload.readUInt32BE(0);
  if (nameLength > payload.length - 8) return invalid('export name longer than the option');
  const name = decodeString(payload.subarray(4, 4 + nameLength));
  if (name === undefined) return invalid('export name is not a valid string');
  let position = 4 + nameLength;
  const count = payload.readUInt32BE(position);
  position += 4;
  if (count > nbdMetaQueriesMax) return { ok: false, refusal: { reply: optionReply.errTooBig, message: `more than ${nbdMetaQueriesMax} queries` } };
  const queries: string[] = [];
  for (let index = 0; index < count; index += 1) {
    if (position + 4 > payload.length) return invalid('query length past the end of the option');
    const queryLength = payload.readUInt32BE(position);
    position += 4;
    if (queryLength > payload.length - position) return invalid('query past the end of the option');
    const query = decodeString(payload.subarray(position, position + queryLength));
    if (query === undefined || !query.includes(':')) return invalid('a query is a valid string starting with a namespace and a colon');
    queries.push(query);
    position += queryLength;
  }
  if (position !== payload.length) return invalid('trailing bytes after the last query');
  return { ok: true, option: { kind, name, queries } };
}

/** proto.md "The base: metadata namespace": the contexts a LIST or SET selects. We know one
 * context. `base:` is a wildcard for LIST and ignored by SET; zero queries list everything and
 * select nothing; unknown namespaces and leaf names are ignored. */
export function selectMetaContexts(mode: 'list' | 'set', queries: readonly string[]): string[] {
  if (queries.length === 0) return mode === 'list' ? [baseAllocationContext] : [];
  const matches = queries.some((query) => query === baseAllocationContext || (mode === 'list' && query === 'base:'));
  return matches ? [baseAllocationContext] : [];
}

/** S: reply magic, option, reply type, length, data (proto.md "Fixed newstyle negotiation"). */
export function encodeOptionReply(optionCode: number, replyType: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const buffer = Buffer.alloc(20 + data.length);
  buffer.writeBigUInt64BE(nbdOptionReplyMagic, 0);
  buffer.writeUInt32BE(optionCode >>> 0, 8);
  buffer.writeUInt32BE(replyType >>> 0, 12);
  buffer.writeUInt32BE(data.length, 16);
  data.copy(buffer, 20);
  return buffer;
}

/** An error reply whose data is a message for a human (proto.md: "All error replies MAY have some data"). */
export function encodeOptionError(optionCode: number, refusal: OptionRefusal): Buffer {
  assert((refusal.reply & 0x8000_0000) !== 0, 'error replies have bit 31 set');
  return encodeOptionReply(optionCode, refusal.reply, truncatedString(refusal.message));
}

/** NBD_REP_SERVER data: name length, name, then a description for humans. */
export function encodeServerReply(name: string, description?: string): Buffer {
  const nameBytes = truncatedString(name);
  const descriptionBytes = truncatedString(description ?? '');
  const data = Buffer.alloc(4 + nameBytes.length + descriptionBytes.length);
  data.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(data, 4);
  descriptionBytes.copy(data, 4 + nameBytes.length);
  return encodeOptionReply(option.list, optionReply.server, data);
}

export function encodeMetaContextReply(optionCode: number, contextId: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const data = Buffer.alloc(4 + nameBytes.length);
  data.writeUInt32BE(contextId, 0);
  nameBytes.copy(data, 4);
  return encodeOptionReply(optionCode, optionReply.metaContext, data);
}

/** NBD_INFO_EXPORT: length 12 (type, size, transmission flags). */
export function encodeInfoExport(optionCode: number, sizeBytes: number, transmissionFlags: number): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt16BE(info.export, 0);
  data.writeBigUInt64BE(BigInt(sizeBytes), 2);
  data.writeUInt16BE(transmissionFlags, 10);
  return encodeOptionReply(optionCode, optionReply.info, data);
}

/** NBD_INFO_NAME / NBD_INFO_DESCRIPTION: type then a string. */
export function encodeInfoString(optionCode: number, infoType: typeof info.name | typeof info.description, text: string): Buffer {
  const bytes = truncatedString(text);
  const data = Buffer.alloc(2 + bytes.length);
  data.writeUInt16BE(infoType, 0);
  bytes.copy(data, 2);
  return encodeOptionReply(optionCode, optionReply.info, data);
}

/** NBD_INFO_BLOCK_SIZE: length 14 (type, minimum, preferred, maximum payload). */
export function encodeInfoBlockSize(optionCode: number, minimum: number, preferred: number, maximum: number): Buffer {
  assert(minimum >= 1 && minimum <= preferred && preferred <= maximum, 'proto.md "Size constraints": min ≤ preferred ≤ max');
  const data = Buffer.alloc(14);
  data.writeUInt16BE(info.blockSize, 0);
  data.writeUInt32BE(minimum, 2);
  data.writeUInt32BE(preferred, 6);
  data.writeUInt32BE(maximum, 10);
  return encodeOptionReply(optionCode, optionReply.info, data);
}

/** Reply to NBD_OPT_EXPORT_NAME: size, transmission flags, 124 zeroes unless NO_ZEROES was agreed. */
export function encodeExportNameReply(sizeBytes: number, transmissionFlags: number, noZeroes: boolean): Buffer {
  const buffer = Buffer.alloc(noZeroes ? 10 : 134);
  buffer.writeBigUInt64BE(BigInt(sizeBytes), 0);
  buffer.writeUInt16BE(transmissionFlags, 8);
  return buffer;
}

/** A proto.md string: UTF-8, cut to the byte limit on a character boundary. */
function truncatedString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= nbdStringBytesMax) return bytes;
  let end = nbdStringBytesMax;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end);
}
