// Bounds-checked byte writing and reading for the message codec. Integers are little-endian;
// u64 fields carry JS numbers up to 2^53 (terms and indexes never get near it). Every read past
// the end throws TransportError('Truncated'), so a short buffer can never yield garbage.
import { TransportError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  u64(value: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value), true);
    this.length += 8;
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** A nullable string: flag byte, then length-prefixed UTF-8. */
  optionalString(value: string | null): void {
    this.u8(value === null ? 0 : 1);
    if (value !== null) this.bytes(encoder.encode(value));
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly buffer: Uint8Array) {
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  private need(bytes: number, what: string): void {
    if (this.offset + bytes > this.buffer.length) throw new TransportError('Truncated', `${what} at byte ${this.offset}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buffer[this.offset++];
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  u64(what: string): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TransportError('InvalidField', `${what} beyond 2^53`);
    return Number(value);
  }

  boolean(what: string): boolean {
    const value = this.u8(what);
    if (value > 1) throw new TransportError('InvalidField', `${what} flag ${value}`);
    return value === 1;
  }

  /** Length-prefixed bytes, at most `max`; the result is a copy the caller owns. */
  bytes(what: string, max: number): Uint8Array {
    const length = this.u32(what);
    if (length > max) throw new TransportError('InvalidField', `${what} of ${length} bytes > ${max}`);
    this.need(length, what);
    const value = this.buffer.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  optionalString(what: string, max: number): string | null {
    if (!this.boolean(what)) return null;
    try {
      return decoder.decode(this.bytes(what, max));
    } catch (error) {
      if (error instanceof TransportError) throw error;
      throw new TransportError('InvalidField', `${what} is not UTF-8`);
    }
  }

  end(): void {
    if (this.offset !== this.buffer.length) throw new TransportError('TrailingBytes', `${this.buffer.length - this.offset} after the message`);
  }
}
