// MessageV1 on the wire: a frame [payload length u32 LE][crc32 u32 LE][payload], payload =
// [version u8 = 1][header length u32 LE][header JSON][blob count u32]{[blob length u32][bytes]}.
// Byte fields (entry data, snapshot chunks) travel as blobs, referenced from the JSON by number,
// so bulk data is never base64-inflated. The receiver checks the CRC before parsing anything.
import { crc32 } from 'node:zlib';
import { assert, type Message } from '../core/index.js';
import { raftMsgBytesMax, raftSnapshotChunkBytesMax } from '../core/index.js';

export const frameHeaderBytes = 8;
/** Largest payload we accept: a full append batch or snapshot chunk plus headers. */
export const framePayloadBytesMax = raftMsgBytesMax + raftSnapshotChunkBytesMax + 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(message: Message): Uint8Array {
  const blobs: Uint8Array[] = [];
  const header = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      blobs.push(value);
      return { blob: blobs.length - 1 };
    }
    return value;
  });
  const headerBytes = encoder.encode(header);
  const payloadBytes = 1 + 4 + headerBytes.length + 4 + blobs.reduce((sum, blob) => sum + 4 + blob.length, 0);
  assert(payloadBytes <= framePayloadBytesMax, `message of ${payloadBytes} bytes exceeds the frame limit`);
  const frame = new Uint8Array(frameHeaderBytes + payloadBytes);
  const view = new DataView(frame.buffer);
  let at = frameHeaderBytes;
  frame[at++] = 1;
  view.setUint32(at, headerBytes.length, true);
  frame.set(headerBytes, (at += 4));
  at += headerBytes.length;
  view.setUint32(at, blobs.length, true);
  at += 4;
  for (const blob of blobs) {
    view.setUint32(at, blob.length, true);
    frame.set(blob, at + 4);
    at += 4 + blob.length;
  }
  view.setUint32(0, payloadBytes, true);
  view.setUint32(4, crc32(frame.subarray(frameHeaderBytes)), true);
  return frame;
}

export type DecodeResult = { readonly message: Message } | { readonly error: string };

/** Decodes one payload whose CRC the caller has already verified. */
export function decodeMessage(payload: Uint8Array): DecodeResult {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 9 || payload[0] !== 1) return { error: `unknown message version ${payload[0]}` };
  const headerLength = view.getUint32(1, true);
  if (5 + headerLength + 4 > payload.length) return { error: 'header runs past the frame' };
  const header = decoder.decode(payload.subarray(5, 5 + headerLength));
  let at = 5 + headerLength;
  const count = view.getUint32(at, true);
  at += 4;
  const blobs: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    if (at + 4 > payload.length) return { error: 'blob table runs past the frame' };
    const length = view.getUint32(at, true);
    if (at + 4 + length > payload.length) return { error: 'blob runs past the frame' };
    blobs.push(Uint8Array.from(payload.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  try {
    const message = JSON.parse(header, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && 'blob' in value && Object.keys(value).length === 1) {
        const blob = blobs[(value as { blob: number }).blob];
        if (!blob) throw new Error('missing blob');
        return blob;
      }
      return value;
    }) as Message;
    return { message };
  } catch (error) {
    return { error: `bad header: ${(error as Error).message}` };
  }
}

/** Splits a byte stream into verified payloads; `bad` once the stream cannot be trusted. */
export class FrameReader {
  private buffered = new Uint8Array(0);
  bad: string | null = null;

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.bad) return [];
    const joined = new Uint8Array(this.buffered.length + chunk.length);
    joined.set(this.buffered);
    joined.set(chunk, this.buffered.length);
    const payloads: Uint8Array[] = [];
    let at = 0;
    const view = new DataView(joined.buffer);
    while (at + frameHeaderBytes <= joined.length) {
      const length = view.getUint32(at, true);
      if (length > framePayloadBytesMax) {
        this.bad = `frame of ${length} bytes exceeds ${framePayloadBytesMax}`;
        return payloads;
      }
      if (at + frameHeaderBytes + length > joined.length) break;
      const payload = joined.subarray(at + frameHeaderBytes, at + frameHeaderBytes + length);
      if (crc32(payload) !== view.getUint32(at + 4, true)) {
        this.bad = 'frame fails its CRC';
        return payloads;
      }
      payloads.push(payload);
      at += frameHeaderBytes + length;
    }
    this.buffered = joined.slice(at);
    return payloads;
  }
}
