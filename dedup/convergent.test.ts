// Method: properties of convergent encryption on seeded random chunks — determinism (the
// dedup property), salt separation, round trip, and that every single-bit tamper of the
// ciphertext or a wrong key is reported as ChunkCorrupt; plus one recomputation of the key and
// id from their definitions with @noble, so the construction is pinned, not just self-consistent.
import { gcm } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CairnError } from './errors.js';
import { chunkIdOf, isChunkId, openChunk, openVerifiedChunk, sealChunk, sealChunkInto } from './convergent.js';
import { SplitMix32 } from './splitmix32.js';
import { codeOf } from './error-code-of.test-support.js';


describe('sealChunk / openChunk', () => {
  const random = new SplitMix32(11);
  const saltA = random.bytes(32);
  const saltB = random.bytes(32);

  it('seals identical plaintext under the same salt to identical key, ciphertext and id', () => {
    const plaintext = random.bytes(70_000);
    const first = sealChunk(plaintext, saltA);
    const second = sealChunk(Buffer.from(plaintext), Buffer.from(saltA));
    expect(second.id).toBe(first.id);
    expect(second.key.equals(first.key)).toBe(true);
    expect(second.ciphertext.equals(first.ciphertext)).toBe(true);
    expect(isChunkId(first.id)).toBe(true);
    expect(first.id).toBe(chunkIdOf(first.ciphertext));
  });

  it('seals the same plaintext under different salts to different ids and keys', () => {
    const plaintext = random.bytes(5000);
    const a = sealChunk(plaintext, saltA);
    const b = sealChunk(plaintext, saltB);
    expect(a.id).not.toBe(b.id);
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('round-trips random chunks of many sizes, including empty', () => {
    for (const size of [0, 1, 15, 16, 17, 4096, 65_536, 262_144]) {
      const plaintext = random.bytes(size);
      const sealed = sealChunk(plaintext, saltA);
      expect(sealed.ciphertext.length).toBe(size + 16);
      expect(openChunk(sealed.ciphertext, sealed.key).equals(plaintext)).toBe(true);
      expect(openVerifiedChunk(sealed.id, sealed.ciphertext, sealed.key).equals(plaintext)).toBe(true);
    }
  });

  it('sealChunkInto writes what sealChunk returns, also in place over the plaintext, and returns the raw id', () => {
    for (const size of [0, 1, 4096, 70_001]) {
      const plaintext = random.bytes(size);
      const expected = sealChunk(plaintext, saltA);
      const target = Buffer.alloc(size + 16);
      const apart = sealChunkInto(plaintext, saltA, target);
      expect(target.equals(expected.ciphertext)).toBe(true);
      expect(apart.key.equals(expected.key)).toBe(true);
      expect(apart.idBytes.toString('hex')).toBe(expected.id);
      const slot = Buffer.alloc(size + 16);
      plaintext.copy(slot);
      const inPlace = sealChunkInto(slot.subarray(0, size), saltA, slot);
      expect(slot.equals(expected.ciphertext)).toBe(true);
      expect(inPlace.idBytes.toString('hex')).toBe(expected.id);
    }
    expect(() => sealChunkInto(random.bytes(10), saltA, Buffer.alloc(10))).toThrow(/plaintext \+ tag/);
  });

  it('matches its definition: key = sha256(tag ‖ salt ‖ plaintext), id = sha256(ciphertext)', () => {
    const plaintext = random.bytes(1000);
    const sealed = sealChunk(plaintext, saltA);
    const key = sha256(Buffer.concat([Buffer.from('cairn chunk key v1\0'), saltA, plaintext]));
    expect(Buffer.from(key).equals(sealed.key)).toBe(true);
    const nonce = sha256(Buffer.concat([Buffer.from('cairn chunk nonce v1\0'), key])).subarray(0, 12);
    const expected = gcm(key, nonce, Buffer.from('cairn chunk v1')).encrypt(plaintext);
    expect(Buffer.from(expected).equals(sealed.ciphertext)).toBe(true);
    expect(Buffer.from(sha256(sealed.ciphertext)).toString('hex')).toBe(sealed.id);
  });

  it('reports every single-bit tamper, truncation and wrong key as ChunkCorrupt', () => {
    const plaintext = random.bytes(300);
    const sealed = sealChunk(plaintext, saltA);
    for (let bit = 0; bit < sealed.ciphertext.length * 8; bit += 7) {
      const tampered = Buffer.from(sealed.ciphertext);
      tampered[bit >>> 3] ^= 1 << (bit & 7);
      expect(codeOf(() => openChunk(tampered, sealed.key))).toBe('ChunkCorrupt');
      expect(codeOf(() => openVerifiedChunk(sealed.id, tampered, sealed.key))).toBe('ChunkCorrupt');
    }
    expect(codeOf(() => openChunk(sealed.ciphertext.subarray(0, 15), sealed.key))).toBe('ChunkCorrupt');
    expect(codeOf(() => openChunk(sealed.ciphertext.subarray(1), sealed.key))).toBe('ChunkCorrupt');
    expect(codeOf(() => openChunk(sealed.ciphertext, sealChunk(plaintext, saltB).key))).toBe('ChunkCorrupt');
  });

  it('accepts only 64 lowercase hex digits as a ChunkId', () => {
    const id = sealChunk(random.bytes(10), saltA).id;
    expect(isChunkId(id)).toBe(true);
    expect(isChunkId(id.toUpperCase())).toBe(false);
    expect(isChunkId(id.slice(1))).toBe(false);
    expect(isChunkId(`${id.slice(1)}g`)).toBe(false);
    expect(isChunkId(42)).toBe(false);
  });
});
