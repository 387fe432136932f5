// The paged block seal: how volume blocks are encrypted, so that a small read decrypts only the
// pages it touches. A block (volumeBlockBytes) is cut into pages of P bytes; each page is sealed
// with AES-256-GCM (NIST SP 800-38D) under ONE convergent key for the whole block, and the chunk
// is the pages' ciphertext‖tag pieces back to back: page i lives at [i·(P+16), (i+1)·(P+16)).
// Two formats, each with its own tags (limits.ts says why two): v = 1 for `pages4k` (P = 4 KiB,
// 16 pages), v = 2 for `pages16k` (P = 16 KiB, 4 pages); n = the block's page count.
//
//   key   = sha256("cairn paged block key v<v>\0" ‖ salt ‖ whole block plaintext)
//   nonce = "cairn pg" ‖ u32be(i)                                  (12 bytes)
//   AAD   = "cairn paged block v<v>\0" ‖ u32be(i) ‖ u32be(n)
//   id    = sha256(whole chunk ciphertext)                          (as for every chunk)
//
// Why this is safe (the same argument as convergent.ts, per page):
// - Nonce uniqueness (SP 800-38D §8): the key is a hash of the whole block, so a key only ever
//   encrypts the pages of that one block; within it, page i always gets nonce i. A (key, nonce)
//   pair therefore only ever encrypts one page plaintext; sealing the same block again repeats
//   (key, nonce, page) exactly, which reveals equality only — the deduplication we want.
// - Its own key tag per format: a paged key never equals a whole-chunk key (convergent.ts's tag
//   differs) nor the other format's key for the same block, so no key is used by two
//   constructions with colliding nonces.
// - Position binding: the page index is in both nonce and AAD, so a page moved to another slot,
//   pages swapped, or a chunk truncated or extended does not authenticate where it is read (the
//   page count is in the AAD too). A reader names the page it wants, never trusts the bytes for it.
// - A page of another block was sealed under another key: it fails this key's tag (GCM's forgery
//   bound, 2^-128 per try for anyone not holding both keys). GCM is not key-committing: someone
//   holding two block keys (so the salt: a deployment insider) could craft one page valid under
//   both; the store's whole-chunk id check (get, scrub, GC) still catches such a chunk.
// - Identical blocks (same salt, same format) still give identical chunks and ids, across
//   volumes: dedup holds. A block sealed in both formats is two chunks (a format change is rare).
// Changing a tag, the nonce layout or a page size changes every paged chunk id: never do; add a
// format instead.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { chunkIdFromBytes, type ChunkSeal, type SealedChunk } from './convergent.js';
import { DedupError } from './error-codes.js';
import { assert } from './errors.js';
import {
  aeadTagBytes, chunkKeyBytes, gcmNonceBytes, pagedBlockCiphertextBytesOf, saltBytes, sealedPageBytesOf, volumeBlockBytes,
  type PagedFormat,
} from './limits.js';

const pageNoncePrefix = Buffer.from('cairn pg', 'utf8');
assert(pageNoncePrefix.length + 4 === gcmNonceBytes, 'a page nonce is prefix + u32 page index');

/** What one paged format is: its page geometry, and its tags, nonces and AADs built once (they
 * depend on the page index only): fewer allocations per page on the seal workers' hot path.
 * Module-private and only ever read (createCipheriv copies them), so sharing them is safe. */
interface PagedLayout {
  pageBytes: number;
  pages: number;
  /** One sealed page: its ciphertext and its own GCM tag. */
  pageCiphertextBytes: number;
  blockCiphertextBytes: number;
  keyTag: Buffer;
  nonces: readonly Buffer[];
  aads: readonly Buffer[];
}

function layoutOf(format: PagedFormat, version: number): PagedLayout {
  const pageBytes = sealedPageBytesOf[format];
  const pages = volumeBlockBytes / pageBytes;
  const aadTag = Buffer.from(`cairn paged block v${version}\0`, 'utf8');
  const nonces = Array.from({ length: pages }, (_, page) => {
    const nonce = Buffer.allocUnsafe(gcmNonceBytes);
    pageNoncePrefix.copy(nonce, 0);
    nonce.writeUInt32BE(page, pageNoncePrefix.length);
    return nonce;
  });
  const aads = Array.from({ length: pages }, (_, page) => {
    const aad = Buffer.allocUnsafe(aadTag.length + 8);
    aadTag.copy(aad, 0);
    aad.writeUInt32BE(page, aadTag.length);
    aad.writeUInt32BE(pages, aadTag.length + 4);
    return aad;
  });
  return {
    pageBytes, pages, pageCiphertextBytes: pageBytes + aeadTagBytes, blockCiphertextBytes: pagedBlockCiphertextBytesOf(format),
    keyTag: Buffer.from(`cairn paged block key v${version}\0`, 'utf8'), nonces, aads,
  };
}

const layouts: Readonly<Record<PagedFormat, PagedLayout>> = { pages4k: layoutOf('pages4k', 1), pages16k: layoutOf('pages16k', 2) };

/** key = sha256(keyTag ‖ salt ‖ block). The salt has a fixed length: the split is unambiguous. */
export function pagedBlockKeyOf(plaintext: Uint8Array, salt: Uint8Array, format: PagedFormat): Buffer {
  assert(salt.length === saltBytes, 'salt must be 32 bytes');
  assert(plaintext.length === volumeBlockBytes, 'a paged block is volumeBlockBytes long');
  return createHash('sha256').update(layouts[format].keyTag).update(salt).update(plaintext).digest();
}

/** Seals one block. Identical block, salt and format give identical key, ciphertext and id. */
export function sealPagedBlock(plaintext: Uint8Array, salt: Uint8Array, format: PagedFormat): SealedChunk {
  const ciphertext = Buffer.allocUnsafe(layouts[format].blockCiphertextBytes);
  const { key, idBytes } = sealPagedBlockInto(plaintext, salt, ciphertext, format);
  return { id: chunkIdFromBytes(idBytes), key, ciphertext } as SealedChunk; // minted by the seal, as sealChunk does
}

/**
 * Seals one block into `target` (exactly the format's chunk length). `target` may start at the
 * plaintext's first byte (sealing in place, as the seal pool does): pages are sealed last to
 * first, and page i's output [i·(P+16), (i+1)·(P+16)) only overlaps plaintext of pages ≥ i, which
 * are consumed by then (the key hashed all of it first).
 */
export function sealPagedBlockInto(plaintext: Uint8Array, salt: Uint8Array, target: Uint8Array, format: PagedFormat): ChunkSeal {
  const layout = layouts[format];
  assert(target.length === layout.blockCiphertextBytes, 'paged target is pages × (page + tag) long');
  const key = pagedBlockKeyOf(plaintext, salt, format);
  const { pageBytes, pageCiphertextBytes } = layout;
  for (let page = layout.pages - 1; page >= 0; page--) {
    const cipher = createCipheriv('aes-256-gcm', key, layout.nonces[page], { authTagLength: aeadTagBytes });
    cipher.setAAD(layout.aads[page]);
    const body = cipher.update(plaintext.subarray(page * pageBytes, (page + 1) * pageBytes));
    const last = cipher.final();
    assert(body.length + last.length === pageBytes, 'GCM is a stream cipher: body + final = page length');
    const at = page * pageCiphertextBytes;
    target.set(body, at);
    if (last.length > 0) target.set(last, at + body.length);
    target.set(cipher.getAuthTag(), at + pageBytes);
  }
  return { key, idBytes: createHash('sha256').update(target).digest() };
}

/**
 * Opens `ciphertext` = whole sealed pages firstPage, firstPage+1, … of a paged block (a slice of
 * the chunk at firstPage·(P+16)), into one plaintext buffer. Throws ChunkCorrupt if any page fails
 * its tag or the slice is not whole pages of the block; never returns unauthenticated bytes.
 */
export function openPagedBlockPages(ciphertext: Uint8Array, key: Uint8Array, firstPage: number, format: PagedFormat): Buffer {
  const layout = layouts[format];
  const { pageBytes, pageCiphertextBytes } = layout;
  assert(key.length === chunkKeyBytes, 'chunk key must be 32 bytes');
  assert(Number.isSafeInteger(firstPage) && firstPage >= 0 && firstPage < layout.pages, 'first page lies in the block');
  const pages = ciphertext.length / pageCiphertextBytes;
  if (!Number.isInteger(pages) || pages < 1 || firstPage + pages > layout.pages) {
    throw new DedupError('ChunkCorrupt', `${ciphertext.length} bytes from page ${firstPage} are not whole pages of a ${format} block`);
  }
  // One page (a small read) is returned as GCM's own output buffer: no second allocation.
  const plain = pages === 1 ? undefined : Buffer.allocUnsafe(pages * pageBytes);
  for (let at = 0; at < pages; at++) {
    const page = firstPage + at;
    const sealed = ciphertext.subarray(at * pageCiphertextBytes, (at + 1) * pageCiphertextBytes);
    const decipher = createDecipheriv('aes-256-gcm', key, layout.nonces[page], { authTagLength: aeadTagBytes });
    decipher.setAAD(layout.aads[page]);
    decipher.setAuthTag(sealed.subarray(pageBytes));
    const body = decipher.update(sealed.subarray(0, pageBytes));
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (error) {
      throw new DedupError('ChunkCorrupt', `page ${page} of a ${format} block failed AES-GCM authentication`, { cause: error });
    }
    assert(body.length === pageBytes && last.length === 0, 'GCM decrypts a page in update');
    if (plain === undefined) return body;
    plain.set(body, at * pageBytes);
  }
  assert(plain !== undefined, 'several pages fill one buffer');
  return plain;
}

/** Opens a whole paged chunk (every page authenticated) into the block's plaintext. */
export function openPagedBlock(ciphertext: Uint8Array, key: Uint8Array, format: PagedFormat): Buffer {
  const expected = layouts[format].blockCiphertextBytes;
  if (ciphertext.length !== expected) {
    throw new DedupError('ChunkCorrupt', `${format} block ciphertext of ${ciphertext.length} bytes, not ${expected}`);
  }
  return openPagedBlockPages(ciphertext, key, 0, format);
}

/**
 * Reads `length` bytes of a chunk at `offset` and hands them to `open`, resolving with its result;
 * the bytes need only live until `open` returns (a reader may lend a reused buffer).
 */
export type ChunkSliceReader = <T>(offset: number, length: number, open: (ciphertext: Uint8Array) => T) => Promise<T>;

/**
 * The plaintext bytes [from, to) of a paged block, opened from the ciphertext of just the pages
 * they touch, which `read` fetches as one slice of the chunk. Returns exactly to - from bytes (a
 * view when the range is not whole pages), never a view of the ciphertext.
 */
export async function openPagedBlockRange(read: ChunkSliceReader, key: Uint8Array,
  from: number, to: number, format: PagedFormat): Promise<Buffer> {
  const { pageBytes, pageCiphertextBytes } = layouts[format];
  assert(Number.isSafeInteger(from) && Number.isSafeInteger(to) && 0 <= from && from < to && to <= volumeBlockBytes, 'a range inside one block');
  const firstPage = Math.floor(from / pageBytes);
  const pages = Math.ceil(to / pageBytes) - firstPage;
  const plain = await read(firstPage * pageCiphertextBytes, pages * pageCiphertextBytes, (ciphertext) => openPagedBlockPages(ciphertext, key, firstPage, format));
  const skip = firstPage * pageBytes;
  return from === skip && to - skip === plain.length ? plain : plain.subarray(from - skip, to - skip);
}

/** Plaintext bytes of the pages of `format` that bytes [from, to) of a block touch: what a read
 * of that range decrypts. */
export function pagedBytesTouched(from: number, to: number, format: PagedFormat): number {
  const { pageBytes } = layouts[format];
  return (Math.ceil(to / pageBytes) - Math.floor(from / pageBytes)) * pageBytes;
}
