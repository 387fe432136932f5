// Records in the formats older builds wrote, for tests that check they still read.
import { crc32 } from 'node:zlib';
import { chunkIdOf } from './chunk-id.js';
import { encodeRecordFraming } from './segment-format.js';

/** A record as builds before record version 2 wrote it: the crc32 covers header and ciphertext. */
export function versionOneRecord(ciphertext: Buffer): Buffer {
  const { header } = encodeRecordFraming(chunkIdOf(ciphertext), ciphertext);
  header.writeUInt8(1, 4);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(ciphertext, crc32(header)) >>> 0, 0);
  return Buffer.concat([header, ciphertext, trailer]);
}
