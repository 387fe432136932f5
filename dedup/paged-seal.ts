// The paged block seal: how volume blocks are encrypted, so that a 4 KiB read decrypts 4 KiB.
// A block (volumeBlockBytes) is cut into pages of sealedPageBytes; each page is sealed with
// AES-256-GCM (NIST SP 800-38D) under ONE convergent key for the whole block, and the chunk is the
// pages' ciphertext‖tag pieces back to back: page i lives at [i·(P+16), (i+1)·(P+16)).
//
//   key   = sha256("cairn paged block key v1\0" ‖ salt ‖ whole block plaintext)
//   nonce = "cairn pg" ‖ u32be(i)                                  (12 bytes)
//   AAD   = "cairn paged block v1\0" ‖ u32be(i) ‖ u32be(pages)
//   id    = sha256(whole chunk ciphertext)                          (as for every chunk)
//
// Why this is safe (the same argument as convergent.ts, per page):
// - Nonce uniqueness (SP 800-38D §8): the key is a hash of the whole block, so a key only ever
//   encrypts the pages of that one block; within it, page i always gets nonce i. A (key, nonce)
//   pair therefore only ever encrypts one page plaintext; sealing the same block again repeats
//   (key, nonce, page) exactly, which reveals equality only — the deduplication we want.
// - Its own key tag: a paged key never equals a whole-chunk key (convergent.ts's tag differs), so
//   no key is used by both constructions with colliding nonces.
// - Position binding: the page index is in both nonce and AAD, so a page moved to another slot,
//   pages swapped, or a chunk truncated or extended does not authenticate where it is read (the
//   page count is in the AAD too). A reader names the page it wants, never trusts the bytes for it.
// - A page of another block was sealed under another key: it fails this key's tag (GCM's forgery
//   bound, 2^-128 per try for anyone not holding both keys). GCM is not key-committing: someone
//   holding two block keys (so the salt: a deployment insider) could craft one page valid under
//   both; the store's whole-chunk id check (get, scrub, GC) still catches such a chunk.
// - Identical blocks (same salt) still give identical chunks and ids, across volumes: dedup holds.
// Changing a tag, the nonce layout or the page size changes every paged chunk id: never do.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { chunkIdFromBytes, type ChunkSeal, type SealedChunk } from './convergent.js';
import { DedupError } from './error-codes.js';
import { assert } from './errors.js';
import {
  aeadTagBytes, chunkKeyBytes, gcmNonceBytes, pagedBlockCiphertextBytes, pagedBlockPages, saltBytes, sealedPageBytes,
  sealedPageCiphertextBytes, volumeBlockBytes,
} from './limits.js';

const pagedKeyTag = Buffer.from('cairn paged block key v1\0', 'utf8');
const pageNoncePrefix = Buffer.from('cairn pg', 'utf8');
const pageAadTag = Buffer.from('cairn paged block v1\0', 'utf8');
assert(pageNoncePrefix.length + 4 === gcmNonceBytes, 'a page nonce is prefix + u32 page index');

/** key = sha256(pagedKeyTag ‖ salt ‖ block). The salt has a fixed length: the split is unambiguous. */
export function pagedBlockKeyOf(plaintext: Uint8Array, salt: Uint8Array): Buffer {
  assert(salt.length === saltBytes, 'salt must be 32 bytes');
  assert(plaintext.length === volumeBlockBytes, 'a paged block is volumeBlockBytes long');
  return createHash('sha256').update(pagedKeyTag).update(salt).update(plaintext).digest();
}

function pageNonce(page: number): Buffer {
  const nonce = Buffer.allocUnsafe(gcmNonceBytes);
  pageNoncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(page, pageNoncePrefix.length);
  return nonce;
}

function pageAad(page: number): Buffer {
  const aad = Buffer.allocUnsafe(pageAadTag.length + 8);
  pageAadTag.copy(aad, 0);
  aad.writeUInt32BE(page, pageAadTag.length);
  aad.writeUInt32BE(pagedBlockPages, pageAadTag.length + 4);
  return aad;
}

// Every block uses the same 16 nonces and AADs (they depend on the page index only), so they are
// built once: two fewer allocations per page on the seal workers' hot path. Module-private and
// only ever read (createCipheriv copies them), so sharing them is safe.
const pageNonces: readonly Buffer[] = Array.from({ length: pagedBlockPages }, (_, page) => pageNonce(page));
const pageAads: readonly Buffer[] = Array.from({ length: pagedBlockPages }, (_, page) => pageAad(page));

/** Seals one block. Identical block and salt give identical key, ciphertext and id. */
export function sealPagedBlock(plaintext: Uint8Array, salt: Uint8Array): SealedChunk {
  const ciphertext = Buffer.allocUnsafe(pagedBlockCiphertextBytes);
  const { key, idBytes } = sealPagedBlockInto(plaintext, salt, ciphertext);
  return { id: chunkIdFromBytes(idBytes), key, ciphertext } as SealedChunk; // minted by the seal, as sealChunk does
}

/**
 * Seals one block into `target` (exactly pagedBlockCiphertextBytes). `target` may start at the
 * plaintext's first byte (sealing in place, as the seal pool does): pages are sealed last to
 * first, and page i's output [i·(P+16), (i+1)·(P+16)) only overlaps plaintext of pages ≥ i, which
 * are consumed by then (the key hashed all of it first).
 */
export function sealPagedBlockInto(plaintext: Uint8Array, salt: Uint8Array, target: Uint8Array): ChunkSeal {
  assert(target.length === pagedBlockCiphertextBytes, 'paged target is pages × (page + tag) long');
  const key = pagedBlockKeyOf(plaintext, salt);
  for (let page = pagedBlockPages - 1; page >= 0; page--) {
    const cipher = createCipheriv('aes-256-gcm', key, pageNonces[page], { authTagLength: aeadTagBytes });
    cipher.setAAD(pageAads[page]);
    const body = cipher.update(plaintext.subarray(page * sealedPageBytes, (page + 1) * sealedPageBytes));
    const last = cipher.final();
    assert(body.length + last.length === sealedPageBytes, 'GCM is a stream cipher: body + final = page length');
    const at = page * sealedPageCiphertextBytes;
    target.set(body, at);
    if (last.length > 0) target.set(last, at + body.length);
    target.set(cipher.getAuthTag(), at + sealedPageBytes);
  }
  return { key, idBytes: createHash('sha256').update(target).digest() };
}

/**
 * Opens `ciphertext` = whole sealed pages firstPage, firstPage+1, … of a paged block (a slice of
 * the chunk at firstPage·(P+16)), into one plaintext buffer. Throws ChunkCorrupt if any page fails
 * its tag or the slice is not whole pages of the block; never returns unauthenticated bytes.
 */
export function openPagedBlockPages(ciphertext: Uint8Array, key: Uint8Array, firstPage: number): Buffer {
  assert(key.length === chunkKeyBytes, 'chunk key must be 32 bytes');
  assert(Number.isSafeInteger(firstPage) && firstPage >= 0 && firstPage < pagedBlockPages, 'first page lies in the block');
  const pages = ciphertext.length / sealedPageCiphertextBytes;
  if (!Number.isInteger(pages) || pages < 1 || firstPage + pages > pagedBlockPages) {
    throw new DedupError('ChunkCorrupt', `${ciphertext.length} bytes from page ${firstPage} are not whole pages of a paged block`);
  }
  // One page (a 4 KiB read) is returned as GCM's own output buffer: no second allocation.
  const plain = pages === 1 ? undefined : Buffer.allocUnsafe(pages * sealedPageBytes);
  for (let at = 0; at < pages; at++) {
    const page = firstPage + at;
    const sealed = ciphertext.subarray(at * sealedPageCiphertextBytes, (at + 1) * sealedPageCiphertextBytes);
    const decipher = createDecipheriv('aes-256-gcm', key, pageNonces[page], { authTagLength: aeadTagBytes });
    decipher.setAAD(pageAads[page]);
    decipher.setAuthTag(sealed.subarray(sealedPageBytes));
    const body = decipher.update(sealed.subarray(0, sealedPageBytes));
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (error) {
      throw new DedupError('ChunkCorrupt', `page ${page} of a paged block failed AES-GCM authentication`, { cause: error });
    }
    assert(body.length === sealedPageBytes && last.length === 0, 'GCM decrypts a page in update');
    if (plain === undefined) return body;
    plain.set(body, at * sealedPageBytes);
  }
  assert(plain !== undefined, 'several pages fill one buffer');
  return plain;
}

/** Opens a whole paged chunk (every page authenticated) into the block's plaintext. */
export function openPagedBlock(ciphertext: Uint8Array, key: Uint8Array): Buffer {
  if (ciphertext.length !== pagedBlockCiphertextBytes) {
    throw new DedupError('ChunkCorrupt', `paged block ciphertext of ${ciphertext.length} bytes, not ${pagedBlockCiphertextBytes}`);
  }
  return openPagedBlockPages(ciphertext, key, 0);
}
