// Method: the paged block seal, in each of its formats (4 and 16 KiB pages), on seeded random
// blocks — determinism (dedup across volumes), salt and format separation, whole, per-page and
// byte-range round trips, in-place sealing; the construction recomputed page by page from its
// definition with @noble (key, nonce, AAD, id), and a pinned id per format so no format can
// drift; then every way a page can be wrong — a flipped bit, a page moved, swapped or taken
// from another block, a truncated slice, a wrong key — is ChunkCorrupt, never bytes.
import { gcm } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { convergentKeyOf } from './convergent.js';
import { codeOf } from './error-code-of.test-support.js';
import { pagedBlockCiphertextBytesOf, sealedPageBytesOf, volumeBlockBytes, type PagedFormat } from './limits.js';
import {
  openPagedBlock, openPagedBlockPages, openPagedBlockRange, pagedBlockKeyOf, pagedBytesTouched, sealPagedBlock, sealPagedBlockInto,
} from './paged-seal.js';
import { SplitMix32 } from './splitmix32.js';

const random = new SplitMix32(404);
const saltA = random.bytes(32);
const saltB = random.bytes(32);

// Each computed once by this seal and by the @noble recomputation below (they agree); pinned here.
const formats: Array<{ format: PagedFormat; version: number; pinnedId: string }> = [
  { format: 'pages4k', version: 1, pinnedId: 'a515f77d8cfd86ccef2084422de38b560c71d92218ebe8d1271351481ee2dd41' },
  { format: 'pages16k', version: 2, pinnedId: '27191192c21d4390f5d863d3ad3daf913a5133767dee60946a78b7b47b29427a' },
];

describe.each(formats)('paged seal $format', ({ format, version, pinnedId }) => {
  const pageBytes = sealedPageBytesOf[format];
  const pageCiphertextBytes = pageBytes + 16;
  const pages = volumeBlockBytes / pageBytes;
  const pageOf = (bytes: Uint8Array, page: number): Buffer =>
    Buffer.from(bytes.subarray(page * pageCiphertextBytes, (page + 1) * pageCiphertextBytes));
  const block = random.bytes(volumeBlockBytes);
  const sealed = sealPagedBlock(block, saltA, format);

  it('seals an identical block and salt to identical key, ciphertext and id; another salt or format differs', () => {
    const again = sealPagedBlock(Buffer.from(block), Buffer.from(saltA), format);
    expect(sealed.ciphertext.length).toBe(pagedBlockCiphertextBytesOf(format));
    expect(sealed.ciphertext.length).toBe(pages * pageCiphertextBytes);
    expect(again.id).toBe(sealed.id);
    expect(again.ciphertext.equals(sealed.ciphertext)).toBe(true);
    const other = sealPagedBlock(block, saltB, format);
    expect(other.id).not.toBe(sealed.id);
    expect(other.key.equals(sealed.key)).toBe(false);
    for (const { format: another } of formats.filter((entry) => entry.format !== format)) {
      expect(pagedBlockKeyOf(block, saltA, another).equals(sealed.key)).toBe(false);
    }
  });

  it('uses a key distinct from the whole-chunk seal of the same bytes (no key serves two constructions)', () => {
    expect(sealed.key.equals(convergentKeyOf(block, saltA))).toBe(false);
  });

  it('round-trips the whole block, every run of pages, and byte ranges', async () => {
    expect(openPagedBlock(sealed.ciphertext, sealed.key, format).equals(block)).toBe(true);
    for (const [first, count] of [[0, 1], [pages - 1, 1], [1, 2], [0, pages], [pages - 2, 2]]) {
      const slice = sealed.ciphertext.subarray(first * pageCiphertextBytes, (first + count) * pageCiphertextBytes);
      const plain = openPagedBlockPages(slice, sealed.key, first, format);
      expect(plain.equals(block.subarray(first * pageBytes, (first + count) * pageBytes))).toBe(true);
    }
    const reads: Array<[number, number]> = [];
    const read = async <T>(offset: number, length: number, open: (ciphertext: Uint8Array) => T): Promise<T> => {
      reads.push([offset, length]);
      // A lent buffer: scribbled over once open returns, so a result viewing it would fail below.
      const lent = Buffer.from(sealed.ciphertext.subarray(offset, offset + length));
      try {
        return open(lent);
      } finally {
        lent.fill(0xa5);
      }
    };
    for (const [from, to] of [[0, 4096], [pageBytes - 512, pageBytes + 512], [5000, 5001], [0, volumeBlockBytes], [volumeBlockBytes - 4096, volumeBlockBytes]]) {
      reads.length = 0;
      const plain = await openPagedBlockRange(read, sealed.key, from, to, format);
      expect(plain.equals(block.subarray(from, to))).toBe(true);
      const touched = pagedBytesTouched(from, to, format);
      expect(reads).toEqual([[Math.floor(from / pageBytes) * pageCiphertextBytes, (touched / pageBytes) * pageCiphertextBytes]]);
    }
  });

  it('sealPagedBlockInto writes what sealPagedBlock returns, also in place over the plaintext', () => {
    const slot = Buffer.alloc(pagedBlockCiphertextBytesOf(format));
    block.copy(slot);
    const inPlace = sealPagedBlockInto(slot.subarray(0, volumeBlockBytes), saltA, slot, format);
    expect(slot.equals(sealed.ciphertext)).toBe(true);
    expect(inPlace.key.equals(sealed.key)).toBe(true);
    expect(inPlace.idBytes.toString('hex')).toBe(sealed.id);
    expect(() => sealPagedBlockInto(block, saltA, Buffer.alloc(volumeBlockBytes + 16), format)).toThrow(/pages/);
  });

  it(`matches its definition page by page (@noble): key tag v${version}, nonce "cairn pg" ‖ i, AAD tag ‖ i ‖ pages, id = sha256(chunk)`, () => {
    const key = sha256(Buffer.concat([Buffer.from(`cairn paged block key v${version}\0`), saltA, block]));
    expect(Buffer.from(key).equals(sealed.key)).toBe(true);
    for (let page = 0; page < pages; page++) {
      const index = Buffer.alloc(4);
      index.writeUInt32BE(page);
      const count = Buffer.alloc(4);
      count.writeUInt32BE(pages);
      const nonce = Buffer.concat([Buffer.from('cairn pg'), index]);
      const aad = Buffer.concat([Buffer.from(`cairn paged block v${version}\0`), index, count]);
      const expected = gcm(key, nonce, aad).encrypt(block.subarray(page * pageBytes, (page + 1) * pageBytes));
      expect(Buffer.from(expected).equals(pageOf(sealed.ciphertext, page))).toBe(true);
    }
    expect(Buffer.from(sha256(sealed.ciphertext)).toString('hex')).toBe(sealed.id);
  });

  it('keeps a pinned id for a fixed block and salt (the format is frozen)', () => {
    const fixed = Buffer.alloc(volumeBlockBytes);
    for (let at = 0; at < fixed.length; at++) fixed[at] = (at * 31 + (at >>> 12)) & 0xff;
    expect(sealPagedBlock(fixed, Buffer.alloc(32, 0x11), format).id).toBe(pinnedId);
  });

  it('reports a flipped bit anywhere in a page (body or tag) as ChunkCorrupt, and the other pages still open', () => {
    for (const page of [0, 1, pages - 1]) {
      for (let bit = 0; bit < pageCiphertextBytes * 8; bit += 509 * (pageBytes / 4096)) {
        const tampered = Buffer.from(sealed.ciphertext);
        tampered[page * pageCiphertextBytes + (bit >>> 3)] ^= 1 << (bit & 7);
        expect(codeOf(() => openPagedBlockPages(pageOf(tampered, page), sealed.key, page, format))).toBe('ChunkCorrupt');
        expect(codeOf(() => openPagedBlock(tampered, sealed.key, format))).toBe('ChunkCorrupt');
        const neighbour = page === 0 ? 1 : page - 1;
        expect(openPagedBlockPages(pageOf(tampered, neighbour), sealed.key, neighbour, format)
          .equals(block.subarray(neighbour * pageBytes, (neighbour + 1) * pageBytes))).toBe(true);
      }
    }
  });

  it('refuses a page read as another index, swapped pages, a page of another block, and another format', () => {
    expect(codeOf(() => openPagedBlockPages(pageOf(sealed.ciphertext, 1), sealed.key, 2, format))).toBe('ChunkCorrupt');
    const swapped = Buffer.from(sealed.ciphertext);
    pageOf(sealed.ciphertext, 2).copy(swapped, 1 * pageCiphertextBytes);
    pageOf(sealed.ciphertext, 1).copy(swapped, 2 * pageCiphertextBytes);
    expect(codeOf(() => openPagedBlock(swapped, sealed.key, format))).toBe('ChunkCorrupt');
    const other = sealPagedBlock(random.bytes(volumeBlockBytes), saltA, format);
    expect(codeOf(() => openPagedBlockPages(pageOf(other.ciphertext, 1), sealed.key, 1, format))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlock(sealed.ciphertext, other.key, format))).toBe('ChunkCorrupt');
    for (const { format: another } of formats.filter((entry) => entry.format !== format)) {
      expect(codeOf(() => openPagedBlock(sealed.ciphertext, sealed.key, another))).toBe('ChunkCorrupt');
    }
  });

  it('refuses slices that are not whole pages of the block, and a whole-chunk-sized ciphertext', () => {
    expect(codeOf(() => openPagedBlockPages(sealed.ciphertext.subarray(0, pageCiphertextBytes - 1), sealed.key, 0, format))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlockPages(sealed.ciphertext.subarray(0, 2 * pageCiphertextBytes), sealed.key, pages - 1, format))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlockPages(Buffer.alloc(0), sealed.key, 0, format))).toBe('ChunkCorrupt');
    expect(codeOf(() => openPagedBlock(sealed.ciphertext.subarray(0, volumeBlockBytes + 16), sealed.key, format))).toBe('ChunkCorrupt');
  });
});
