// Method: the paged block seal on seeded random blocks — determinism (dedup across volumes),
// salt separation, whole and per-page round trips, in-place sealing; the construction recomputed
// page by page from its definition with @noble (key, nonce, AAD, id), and a pinned id so the
// format cannot drift; then every way a page can be wrong — a flipped bit, a page moved, swapped
// or taken from another block, a truncated slice, a wrong key — is ChunkCorrupt, never bytes.
import { gcm } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { convergentKeyOf } from './convergent.js';
import { codeOf } from './error-code-of.test-support.js';
import { pagedBlockCiphertextBytes, pagedBlockPages, sealedPageBytes, sealedPageCiphertextBytes, volumeBlockBytes } from './limits.js';
import { openPagedBlock, openPagedBlockPages, sealPagedBlock, sealPagedBlockInto } from './paged-seal.js';
import { SplitMix32 } from './splitmix32.js';

const random = new SplitMix32(404);
const saltA = random.bytes(32);
const saltB = random.bytes(32);
const pageOf = (bytes: Uint8Array, page: number): Buffer =>
  Buffer.from(bytes.subarray(page * sealedPageCiphertextBytes, (page + 1) * sealedPageCiphertextBytes));

describe('sealPagedBlock / openPagedBlockPages', () => {
  it('seals an identical block and salt to identical key, ciphertext and id; another salt differs', () => {
    const block = random.bytes(volumeBlockBytes);
    const first = sealPagedBlock(block, saltA);
    const second = sealPagedBlock(Buffer.from(block), Buffer.from(saltA));
    expect(first.ciphertext.length).toBe(pagedBlockCiphertextBytes);
    expect(second.id).toBe(first.id);
    expect(second.ciphertext.equals(first.ciphertext)).toBe(true);
    const other = sealPagedBlock(block, saltB);
    expect(other.id).not.toBe(first.id);
    expect(other.key.equals(first.key)).toBe(false);
  });

  it('uses a key distinct from the whole-chunk seal of the same bytes (no key serves two constructions)', () => {
    const block = random.bytes(volumeBlockBytes);
    expect(sealPagedBlock(block, saltA).key.equals(convergentKeyOf(block, saltA))).toBe(false);
  });

  it('round-trips the whole block and every run of pages', () => {
    const block = random.bytes(volumeBlockBytes);
    const sealed = sealPagedBlock(block, saltA);
    expect(openPagedBlock(sealed.ciphertext, sealed.key).equals(block)).toBe(true);
    for (const [first, count] of [[0, 1], [5, 1], [15, 1], [3, 4], [0, 16], [10, 6]]) {
      const slice = sealed.ciphertext.subarray(first * sealedPageCiphertextBytes, (first + count) * sealedPageCiphertextBytes);
      const plain = openPagedBlockPages(slice, sealed.key, first);
      expect(plain.equals(block.subarray(first * sealedPageBytes, (first + count) * sealedPageBytes))).toBe(true);
    }
  });

  it('sealPagedBlockInto writes what sealPagedBlock returns, also in place over the plaintext', () => {
    const block = random.bytes(volumeBlockBytes);
    const expected = sealPagedBlock(block, saltA);
    const slot = Buffer.alloc(pagedBlockCiphertextBytes);
    block.copy(slot);
    const inPlace = sealPagedBlockInto(slot.subarray(0, volumeBlockBytes), saltA, slot);
    expect(slot.equals(expected.ciphertext)).toBe(true);
    expect(inPlace.key.equals(expected.key)).toBe(true);
    expect(inPlace.idBytes.toString('hex')).toBe(expected.id);
    expect(() => sealPagedBlockInto(block, saltA, Buffer.alloc(volumeBlockBytes + 16))).toThrow(/pages/);
  });

  it('matches its definition page by page (@noble): key, nonce "cairn pg" ‖ i, AAD tag ‖ i ‖ pages, id = sha256(chunk)', () => {
    const block = random.bytes(volumeBlockBytes);
    const sealed = sealPagedBlock(block, saltA);
    const key = sha256(Buffer.concat([Buffer.from('cairn paged block key v1\0'), saltA, block]));
    expect(Buffer.from(key).equals(sealed.key)).toBe(true);
    for (let page = 0; page < pagedBlockPages; page++) {
      const index = Buffer.alloc(4);
      index.writeUInt32BE(page);
      const count = Buffer.alloc(4);
      count.writeUInt32BE(pagedBlockPages);
      const nonce = Buffer.concat([Buffer.from('cairn pg'), index]);
      const aad = Buffer.concat([Buffer.from('cairn paged block v1\0'), index, count]);
      const expected = gcm(key, nonce, aad).encrypt(block.subarray(page * sealedPageBytes, (page + 1) * sealedPageBytes));
      expect(Buffer.from(expected).equals(pageOf(sealed.ciphertext, page))).toBe(true);
    }
    expect(Buffer.from(sha256(sealed.ciphertext)).toString('hex')).toBe(sealed.id);
  });

  it('keeps a pinned id for a fixed block and salt (the format is frozen)', () => {
    const block = Buffer.alloc(volumeBlockBytes);
    for (let at = 0; at < block.length; at++) block[at] = (at * 31 + (at >>> 12)) & 0xff;
    expect(sealPagedBlock(block, Buffer.alloc(32, 0x11)).id).toBe(PINNED_ID);
  });
});

describe('paged block corruption', () => {
  const block = random.bytes(volumeBlockBytes);
  const sealed = sealPagedBlock(block, saltA);

  it('reports a flipped bit anywhere in a page (body or tag) as ChunkCorrupt, and the other pages still open', () => {
    for (const page of [0, 7, 15]) {
      for (let bit = 0; bit < sealedPageCiphertextBytes * 8; bit += 509) {
        const tampered = Buffer.from(sealed.ciphertext);
        tampered[page * sealedPageCiphertextBytes + (bit >>> 3)] ^= 1 << (bit & 7);
        expect(codeOf(() => openPagedBlockPages(pageOf(tampered, page), sealed.key, page))).toBe('ChunkCorrupt');
        expect(codeOf(() => openPagedBlock(tampered, sealed.key))).toBe('ChunkCorrupt');
        const neighbour = page === 0 ? 1 : page - 1;
        expect(openPagedBlockPages(pageOf(tampered, neighbour), sealed.key, neighbour)
          .equals(block.subarray(neighbour * sealedPageBytes, (neighbour + 1) * sealedPageBytes))).toBe(true);
      }
    }
  });

  it('refuses a page read as another index, swapped pages, and a page of another block', () => {
    expect(codeOf(() => openPagedBlockPages(pageOf(sealed.ciphertext, 3), sealed.key, 4))).toBe('ChunkCorrupt');
    const swapped = Buffer.from(sealed.ciphertext);
    pageOf(sealed.ciphertext, 2).copy(swapped, 1 * sealedPageCiphertextBytes);
    pageOf(sealed.ciphertext, 1).copy(swapped, 2 * sealedPageCiphertextBytes);
    expect(codeOf(() => openPagedBlock(swapped, sealed.key))).toBe('ChunkCorrupt');
    const other = sealPagedBlock(random.bytes(volumeBlockBytes), saltA);
    expect(codeOf(() => openPagedBlockPages(pageOf(other.ciphertext, 5), sealed.key, 5))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlock(sealed.ciphertext, other.key))).toBe('ChunkCorrupt');
  });

  it('refuses slices that are not whole pages of the block, and a whole-chunk-sized ciphertext', () => {
    expect(codeOf(() => openPagedBlockPages(sealed.ciphertext.subarray(0, sealedPageCiphertextBytes - 1), sealed.key, 0))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlockPages(sealed.ciphertext.subarray(0, 2 * sealedPageCiphertextBytes), sealed.key, 15))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlockPages(Buffer.alloc(0), sealed.key, 0))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlock(sealed.ciphertext.subarray(0, volumeBlockBytes + 16), sealed.key))).toBe('ChunkCorrupt');
  });
});

// Computed once by this seal and by the @noble recomputation above (they agree); pinned here.
const PINNED_ID = 'a515f77d8cfd86ccef2084422de38b560c71d92218ebe8d1271351481ee2dd41';
