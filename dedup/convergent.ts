// Convergent encryption of one chunk (SEEDS.md rows 1–2): the key is derived from the chunk's
// own plaintext and a secret salt, so equal plaintext under the same salt gives equal
// ciphertext and one stored copy. AES-256-GCM via node:crypto (AES-NI; LIMITS.md) per
// NIST SP 800-38D; hashes are FIPS 180-4 sha256.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { assert } from './errors.js';
import { DedupError } from './error-codes.js';
import {
  aeadTagBytes, chunkBytesMax, chunkIdBytes, chunkIdHexLength, chunkKeyBytes, gcmNonceBytes, saltBytes,
} from './limits.js';

/** 64 lowercase hex digits of sha256(ciphertext): the store's address for a chunk. */
export type ChunkId = string & { readonly __brand: 'ChunkId' };

declare const sealedBrand: unique symbol;

/**
 * A chunk as the seal made it: `id` was computed by sha256 over exactly these `ciphertext` bytes.
 * Only sealChunk and the seal pool (whose workers run sealChunkInto) produce one — the brand makes
 * any other construction a visible cast — so the chunk store's putSealed can skip re-hashing it.
 */
export interface SealedChunk {
  id: ChunkId;
  key: Buffer;
  ciphertext: Buffer;
  readonly [sealedBrand]: true;
}

// Domain separation: these tags make a chunk key, a nonce and a chunk AAD distinct uses of
// sha256 even over equal bytes. Changing any of them changes every chunk id: never do.
const keyTag = Buffer.from('cairn chunk key v1\0', 'utf8');
const nonceTag = Buffer.from('cairn chunk nonce v1\0', 'utf8');
const chunkAad = Buffer.from('cairn chunk v1', 'utf8');
const chunkIdPattern = /^[0-9a-f]{64}$/;

export function isChunkId(value: unknown): value is ChunkId {
  return typeof value === 'string' && value.length === chunkIdHexLength && chunkIdPattern.test(value);
}

export function chunkIdOf(ciphertext: Uint8Array): ChunkId {
  return createHash('sha256').update(ciphertext).digest('hex') as ChunkId;
}

export function chunkIdToBytes(id: ChunkId): Buffer {
  assert(isChunkId(id), 'not a chunk id');
  return Buffer.from(id, 'hex');
}

export function chunkIdFromBytes(bytes: Uint8Array): ChunkId {
  assert(bytes.length === chunkIdBytes, 'chunk id bytes must be 32 long');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex') as ChunkId;
}

/** key = sha256(keyTag ‖ salt ‖ plaintext). The salt has a fixed length, so the split is unambiguous. */
export function convergentKeyOf(plaintext: Uint8Array, salt: Uint8Array): Buffer {
  assert(salt.length === saltBytes, 'salt must be 32 bytes');
  return createHash('sha256').update(keyTag).update(salt).update(plaintext).digest();
}

/**
 * The GCM nonce is derived from the key. That is safe because GCM's only requirement
 * (SP 800-38D §8: never reuse an IV under one key for two different messages) holds by
 * construction: the key is a hash of the plaintext, so a key only ever encrypts the one
 * plaintext it came from (a second plaintext with the same key would be a sha256 collision).
 * Re-encrypting that same plaintext repeats (key, nonce, message) exactly, which reveals only
 * equality — the deduplication we want.
 */
function nonceOf(key: Uint8Array): Buffer {
  return createHash('sha256').update(nonceTag).update(key).digest().subarray(0, gcmNonceBytes);
}

/** Encrypts one chunk. Identical plaintext and salt give identical key, ciphertext and id. */
export function sealChunk(plaintext: Uint8Array, salt: Uint8Array): SealedChunk {
  const ciphertext = Buffer.allocUnsafe(plaintext.length + aeadTagBytes);
  const { key, idBytes } = sealChunkInto(plaintext, salt, ciphertext);
  return { id: chunkIdFromBytes(idBytes), key, ciphertext } as SealedChunk; // the brand's one in-process mint
}

/** What sealChunkInto returns beside the ciphertext it wrote: the key and the raw 32-byte id. */
export interface ChunkSeal {
  key: Buffer;
  idBytes: Buffer;
}

/**
 * sealChunk writing the ciphertext into `target` (exactly plaintext.length + 16 bytes) instead of
 * allocating it, so a caller with its own buffer (the seal pool's batch buffers) pays no
 * allocation or concatenation per chunk. `target` may start at plaintext's first byte (sealing in
 * place): the cipher consumes all of plaintext before the first byte of target is written.
 */
export function sealChunkInto(plaintext: Uint8Array, salt: Uint8Array, target: Uint8Array): ChunkSeal {
  assert(plaintext.length <= chunkBytesMax, 'chunk larger than chunkBytesMax');
  assert(target.length === plaintext.length + aeadTagBytes, 'ciphertext target is plaintext + tag long');
  const key = convergentKeyOf(plaintext, salt);
  const cipher = createCipheriv('aes-256-gcm', key, nonceOf(key), { authTagLength: aeadTagBytes });
  cipher.setAAD(chunkAad);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  assert(body.length + last.length === plaintext.length, 'GCM is a stream cipher: body + final = plaintext length');
  target.set(body, 0);
  if (last.length > 0) target.set(last, body.length);
  target.set(cipher.getAuthTag(), plaintext.length);
  const idBytes = createHash('sha256').update(target).digest();
  return { key, idBytes };
}

/** Decrypts one chunk; throws ChunkCorrupt when the tag does not authenticate. */
export function openChunk(ciphertext: Uint8Array, key: Uint8Array): Buffer {
  assert(key.length === chunkKeyBytes, 'chunk key must be 32 bytes');
  const bodyLength = ciphertext.length - aeadTagBytes;
  if (bodyLength < 0 || bodyLength > chunkBytesMax) {
    throw new DedupError('ChunkCorrupt', `chunk ciphertext length ${ciphertext.length} is impossible`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(key), { authTagLength: aeadTagBytes });
  decipher.setAAD(chunkAad);
  decipher.setAuthTag(ciphertext.subarray(bodyLength));
  const body = decipher.update(ciphertext.subarray(0, bodyLength));
  try {
    const last = decipher.final();
    return last.length === 0 ? body : Buffer.concat([body, last]);
  } catch (error) {
    throw new DedupError('ChunkCorrupt', 'chunk failed AES-GCM authentication', { cause: error });
  }
}

/** GET side: checks id = sha256(ciphertext) (what the store checks too), then decrypts. */
export function openVerifiedChunk(id: ChunkId, ciphertext: Uint8Array, key: Uint8Array): Buffer {
  if (chunkIdOf(ciphertext) !== id) {
    throw new DedupError('ChunkCorrupt', `chunk ${id} does not hash to its id`);
  }
  return openChunk(ciphertext, key);
}
