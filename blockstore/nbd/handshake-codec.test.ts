// Method: each option of proto.md "Option types" is built by hand as the document lays it out and
// parsed; malformed lengths must give NBD_REP_ERR_INVALID (never a throw), and every encoder's
// bytes are checked field by field against the document.
import { describe, expect, it } from 'vitest';
import {
  decodeClientFlags, decodeOptionHeader, encodeExportNameReply, encodeGreeting, encodeInfoBlockSize, encodeInfoExport,
  encodeOptionError, parseOption, selectMetaContexts,
} from './handshake-codec.js';
import { nbdOptionBytesMax } from './limits.js';
import { optionReply } from './protocol.js';
import { u16, u32 } from './test-client.js';

const text = (value: string) => Buffer.from(value, 'utf8');

describe('handshake greeting and flags', () => {
  it('encodeGreeting sends NBDMAGIC, IHAVEOPT and FIXED_NEWSTYLE|NO_ZEROES', () => {
    const greeting = encodeGreeting();
    expect(greeting.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
    expect(greeting.readUInt16BE(16)).toBe(3);
  });

  it('decodeClientFlags accepts the two known flags and rejects any other bit', () => {
    expect(decodeClientFlags(u32(3))).toEqual({ ok: true, noZeroes: true });
    expect(decodeClientFlags(u32(0))).toEqual({ ok: true, noZeroes: false });
    expect(decodeClientFlags(u32(4)).ok).toBe(false);
  });

  it('decodeOptionHeader rejects a bad magic and an oversized payload', () => {
    const good = Buffer.concat([text('IHAVEOPT'), u32(7), u32(10)]);
    expect(decodeOptionHeader(good)).toEqual({ ok: true, header: { code: 7, length: 10 } });
    expect(decodeOptionHeader(Buffer.concat([text('IHAVEOPX'), u32(7), u32(10)])).ok).toBe(false);
    expect(decodeOptionHeader(Buffer.concat([text('IHAVEOPT'), u32(7), u32(nbdOptionBytesMax + 1)])).ok).toBe(false);
  });
});

describe('parseOption', () => {
  it('parses NBD_OPT_GO with a name and info requests', () => {
    const payload = Buffer.concat([u32(4), text('disk'), u16(2), u16(3), u16(1)]);
    expect(parseOption(7, payload)).toEqual({ ok: true, option: { kind: 'go', name: 'disk', infoRequests: [3, 1] } });
  });

  it('refuses NBD_OPT_INFO whose name or count disagrees with the option length', () => {
    expect(parseOption(6, Buffer.concat([u32(100), text('disk'), u16(0)]))).toMatchObject({ ok: false, refusal: { reply: optionReply.errInvalid } });
    expect(parseOption(6, Buffer.concat([u32(4), text('disk'), u16(5)]))).toMatchObject({ ok: false, refusal: { reply: optionReply.errInvalid } });
    expect(parseOption(6, Buffer.alloc(3))).toMatchObject({ ok: false });
  });

  it('refuses names that are not proto.md strings (NUL, bad UTF-8)', () => {
    expect(parseOption(1, Buffer.from([0x61, 0, 0x62])).ok).toBe(false);
    expect(parseOption(1, Buffer.from([0xff, 0xfe])).ok).toBe(false);
    expect(parseOption(1, text('vol@snap'))).toEqual({ ok: true, option: { kind: 'exportName', name: 'vol@snap' } });
  });

  it('refuses data on NBD_OPT_LIST and NBD_OPT_STRUCTURED_REPLY but ignores it on NBD_OPT_ABORT', () => {
    expect(parseOption(3, Buffer.alloc(1)).ok).toBe(false);
    expect(parseOption(8, Buffer.alloc(1)).ok).toBe(false);
    expect(parseOption(2, Buffer.alloc(5))).toEqual({ ok: true, option: { kind: 'abort' } });
  });

  it('parses meta context queries and refuses ones running past the option', () => {
    const query = text('base:allocation');
    const payload = Buffer.concat([u32(4), text('disk'), u32(1), u32(query.length), query]);
    expect(parseOption(10, payload)).toEqual({ ok: true, option: { kind: 'setMetaContext', name: 'disk', queries: ['base:allocation'] } });
    const short = Buffer.concat([u32(4), text('disk'), u32(1), u32(query.length + 1), query]);
    expect(parseOption(10, short)).toMatchObject({ ok: false, refusal: { reply: optionReply.errInvalid } });
    const missingColon = Buffer.concat([u32(4), text('disk'), u32(1), u32(4), text('base')]);
    expect(parseOption(9, missingColon).ok).toBe(false);
    const tooMany = Buffer.concat([u32(0), u32(1000)]);
    expect(parseOption(9, tooMany)).toMatchObject({ ok: false, refusal: { reply: optionReply.errTooBig } });
  });

  it('passes unknown options through as unknown (answered NBD_REP_ERR_UNSUP)', () => {
    expect(parseOption(42, Buffer.alloc(3))).toEqual({ ok: true, option: { kind: 'unknown', code: 42 } });
  });
});

describe('selectMetaContexts', () => {
  it('follows proto.md "The base: metadata namespace"', () => {
    expect(selectMetaContexts('list', [])).toEqual(['base:allocation']);
    expect(selectMetaContexts('set', [])).toEqual([]);
    expect(selectMetaContexts('list', ['base:'])).toEqual(['base:allocation']);
    expect(selectMetaContexts('set', ['base:'])).toEqual([]);
    expect(selectMetaContexts('set', ['qemu:dirty-bitmap:x', 'base:allocation'])).toEqual(['base:allocation']);
    expect(selectMetaContexts('set', ['base:nonsense'])).toEqual([]);
  });
});

describe('option reply encoders', () => {
  it('encodeInfoExport is a 12-byte NBD_REP_INFO with size and flags', () => {
    const reply = encodeInfoExport(7, 2 ** 40, 0x0d);
    expect(reply.readUInt32BE(12)).toBe(optionReply.info);
    expect(reply.readUInt32BE(16)).toBe(12);
    expect(reply.readBigUInt64BE(22)).toBe(2n ** 40n);
    expect(reply.readUInt16BE(30)).toBe(0x0d);
  });

  it('encodeInfoBlockSize is 14 bytes and refuses inconsistent sizes', () => {
    expect(encodeInfoBlockSize(7, 1, 4096, 1 << 25).readUInt32BE(16)).toBe(14);
    expect(() => encodeInfoBlockSize(7, 8192, 4096, 1 << 25)).toThrow();
  });

  it('encodeExportNameReply pads 124 zeroes unless NO_ZEROES was agreed', () => {
    expect(encodeExportNameReply(512, 1, false).length).toBe(134);
    expect(encodeExportNameReply(512, 1, true).length).toBe(10);
  });

  it('encodeOptionError carries the message and an error type', () => {
    const reply = encodeOptionError(99, { reply: optionReply.errUnsup, message: 'nope' });
    expect(reply.readUInt32BE(8)).toBe(99);
    expect(reply.readUInt32BE(12)).toBe(optionReply.errUnsup);
    expect(reply.subarray(20).toString()).toBe('nope');
  });
});
