// Streaming CRCs for S3's x-amz-checksum-crc32 / -crc32c / -crc64nvme.
// Spec: S3 User Guide, "Checking object integrity" (algorithms, base64 of the big-endian value);
// parameters from the CRC catalogue (reveng): CRC-32/ISO-HDLC, CRC-32/ISCSI, CRC-64/NVME — all
// reflected, init all ones, final xor all ones. Table-driven, one byte at a time; CRC32 uses
// node:zlib.crc32 when the runtime has it (Node ≥ 20.15), our table otherwise.

import * as zlib from 'node:zlib';

/** A running CRC: update() across a stream, then digest() the big-endian bytes once. */
export interface RunningCrc {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

function reflectedTable32(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let crc = index;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
    table[index] = crc >>> 0;
  }
  return table;
}

const crc32Table = reflectedTable32(0xedb88320);
const crc32cTable = reflectedTable32(0x82f63b78);

function updateCrc32Table(table: Uint32Array, crc: number, data: Uint8Array): number {
  let value = crc;
  for (let index = 0; index < data.length; index++) value = table[(value ^ data[index]!) & 0xff]! ^ (value >>> 8);
  return value >>> 0;
}

function beBytes32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

type ZlibCrc32 = (data: Uint8Array, value?: number) => number;
const nativeCrc32: ZlibCrc32 | undefined = typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib as unknown as { crc32: ZlibCrc32 }).crc32 : undefined;

/** CRC-32/ISO-HDLC (zlib's CRC32). `useNative` false forces the table (for tests). */
export class Crc32 implements RunningCrc {
  private value = 0; // zlib convention: pre/post inversion is inside crc32()
  private readonly native: ZlibCrc32 | undefined;
  constructor(useNative = true) {
    this.native = useNative ? nativeCrc32 : undefined;
  }
  update(data: Uint8Array): void {
    if (this.native) this.value = this.native(data, this.value);
    else this.value = (updateCrc32Table(crc32Table, (this.value ^ 0xffffffff) >>> 0, data) ^ 0xffffffff) >>> 0;
  }
  digest(): Buffer {
    return beBytes32(this.value);
  }
}

/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78. */
export class Crc32c implements RunningCrc {
  private value = 0xffffffff;
  update(data: Uint8Array): void {
    this.value = updateCrc32Table(crc32cTable, this.value, data);
  }
  digest(): Buffer {
    return beBytes32((this.value ^ 0xffffffff) >>> 0);
  }
}

// CRC-64/NVME, reflected polynomial 0x9A6C9329AC4BC9B5, kept as two uint32 halves (BigInt per
// byte would be an order of magnitude slower).
const crc64Polynomial = { high: 0x9a6c9329, low: 0xac4bc9b5 };
const crc64TableHigh = new Uint32Array(256);
const crc64TableLow = new Uint32Array(256);
for (let index = 0; index < 256; index++) {
  let high = 0;
  let low = index;
  for (let bit = 0; bit < 8; bit++) {
    const carry = low & 1;
    low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
    high = high >>> 1;
    if (carry) {
      high = (high ^ crc64Polynomial.high) >>> 0;
      low = (low ^ crc64Polynomial.low) >>> 0;
    }
  }
  crc64TableHigh[index] = high;
  crc64TableLow[index] = low;
}

export class Crc64Nvme implements RunningCrc {
  private high = 0xffffffff;
  private low = 0xffffffff;
  update(data: Uint8Array): void {
    let high = this.high;
    let low = this.low;
    for (let index = 0; index < data.length; index++) {
      const slot = (low ^ data[index]!) & 0xff;
      low = (((low >>> 8) | ((high & 0xff) << 24)) ^ crc64TableLow[slot]!) >>> 0;
      high = ((high >>> 8) ^ crc64TableHigh[slot]!) >>> 0;
    }
    this.high = high;
    this.low = low;
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((this.high ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.low ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}
