// Envelope sealing of an encoded manifest. The manifest holds every chunk key of an object, so
// it is encrypted under a per-object data key (AES-256-GCM, node:crypto, SP 800-38D), and the
// data key is wrapped under the node's master key with XChaCha20-Poly1305
// (draft-irtf-cfrg-xchacha-03, @noble/ciphers: node lacks it). The core is pure: the caller
// passes in the fresh random data key and 24-byte nonce.
//
// Sealed layout, version 1:
//   0  magic "CRNS"  4 │ 4 version = 1 u16 │ 6 reserved = 0 u16
//   8  nonce         24   XChaCha20 nonce for the wrap; its first 12 bytes are the GCM nonce
//  32  wrapped key   48   XChaCha20-Poly1305(masterKey, nonce, aad = bytes 0..8)(dataKey)
//  80  body          n+16 AES-256-GCM(dataKey, nonce[0..12], aad = bytes 0..80)(manifest) ‖ tag
// The GCM nonce reuses the wrap nonce's bytes: it is a different key and algorithm, and the
// GCM (key, nonce) pair stays unique if EITHER the data key or the nonce is fresh per seal.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { assert } from './errors.js';
import { DedupError } from './error-codes.js';
import { aeadTagBytes, chunkKeyBytes, gcmNonceBytes, manifestEncodedBytesMax, xchachaNonceBytes } from './limits.js';

const magic = Buffer.from('CRNS', 'latin1');
const prefixBytes = 8;
const wrappedKeyBytes = chunkKeyBytes + aeadTagBytes;
const headerBytes = prefixBytes + xchachaNonceBytes + wrappedKeyBytes;
export const sealedManifestBytesMax = headerBytes + manifestEncodedBytesMax + aeadTagBytes;

function corrupt(message: string, cause?: unknown): DedupError {
  return new DedupError('ManifestCorrupt', `sealed manifest corrupt: ${message}`, { cause });
}

export function sealManifest(
  encoded: Uint8Array, masterKey: Uint8Array, dataKey: Uint8Array, nonce24: Uint8Array,
): Buffer {
  assert(masterKey.length === chunkKeyBytes && dataKey.length === chunkKeyBytes, 'keys must be 32 bytes');
  assert(nonce24.length === xchachaNonceBytes, 'nonce must be 24 bytes');
  assert(encoded.length <= manifestEncodedBytesMax, 'manifest larger than manifestEncodedBytesMax');
  assert(!Buffer.from(masterKey).equals(Buffer.from(dataKey)), 'data key must not be the master key');
  const header = Buffer.alloc(headerBytes);
  magic.copy(header, 0);
  header.writeUInt16BE(1, 4);
  header.set(nonce24, prefixBytes);
  const wrapped = xchacha20poly1305(masterKey, nonce24, header.subarray(0, prefixBytes)).encrypt(dataKey);
  assert(wrapped.length === wrappedKeyBytes, 'wrapped key is key + tag');
  header.set(wrapped, prefixBytes + xchachaNonceBytes);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce24.subarray(0, gcmNonceBytes), { authTagLength: aeadTagBytes });
  cipher.setAAD(header);
  const body = cipher.update(encoded);
  const last = cipher.final();
  const sealed = Buffer.concat([header, body, last, cipher.getAuthTag()]);
  assert(sealed.length === headerBytes + encoded.length + aeadTagBytes, 'sealed length');
  return sealed;
}

function unwrapDataKey(header: Buffer, masterKey: Uint8Array): Uint8Array {
  const nonce = header.subarray(prefixBytes, prefixBytes + xchachaNonceBytes);
  const wrapped = header.subarray(prefixBytes + xchachaNonceBytes, headerBytes);
  try {
    return xchacha20poly1305(masterKey, nonce, header.subarray(0, prefixBytes)).decrypt(wrapped);
  } catch (error) {
    throw corrupt('data key does not unwrap under this master key', error);
  }
}

/** Returns the encoded manifest; any failure (format, wrong master key, tamper) is ManifestCorrupt. */
export function openManifest(sealed: Uint8Array, masterKey: Uint8Array): Buffer {
  assert(masterKey.length === chunkKeyBytes, 'master key must be 32 bytes');
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < headerBytes + aeadTagBytes) throw corrupt('shorter than its header');
  if (bytes.length > sealedManifestBytesMax) throw corrupt('longer than sealedManifestBytesMax');
  if (!bytes.subarray(0, 4).equals(magic)) throw corrupt('bad magic');
  const version = bytes.readUInt16BE(4);
  if (version !== 1) throw corrupt(`unsupported version ${version}`);
  if (bytes.readUInt16BE(6) !== 0) throw corrupt('reserved field is not zero');
  const header = bytes.subarray(0, headerBytes);
  const dataKey = unwrapDataKey(header, masterKey);
  const nonce = header.subarray(prefixBytes, prefixBytes + gcmNonceBytes);
  const tagAt = bytes.length - aeadTagBytes;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: aeadTagBytes });
    decipher.setAAD(header);
    decipher.setAuthTag(bytes.subarray(tagAt));
    const body = decipher.update(bytes.subarray(headerBytes, tagAt));
    const last = decipher.final();
    return last.length === 0 ? body : Buffer.concat([body, last]);
  } catch (error) {
    throw corrupt('manifest body failed AES-GCM authentication', error);
  }
}
