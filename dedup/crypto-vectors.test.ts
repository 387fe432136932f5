// Method: known-answer tests from the primitives' own specifications (FIPS 180-4 examples,
// RFC 4231, the GCM spec's test cases as used by NIST CAVP, draft-irtf-cfrg-xchacha-03 §A.3.1),
// then a differential check of node:crypto against @noble on seeded random inputs.
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { SplitMix32 } from './splitmix32.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function nodeGcm(key: string, iv: string, plaintext: string, aad = ''): string {
  const cipher = createCipheriv('aes-256-gcm', hex(key), hex(iv));
  cipher.setAAD(hex(aad));
  return toHex(Buffer.concat([cipher.update(hex(plaintext)), cipher.final(), cipher.getAuthTag()]));
}

describe('sha256 (FIPS 180-4 / NIST example values)', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('sha256(%j) matches the published digest in node and noble', (message, digest) => {
    expect(createHash('sha256').update(message).digest('hex')).toBe(digest);
    expect(toHex(sha256(Buffer.from(message)))).toBe(digest);
  });
});

describe('HMAC-SHA256 (RFC 4231 §4.2, §4.3)', () => {
  it.each([
    ['0b'.repeat(20), Buffer.from('Hi There').toString('hex'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [Buffer.from('Jefe').toString('hex'), Buffer.from('what do ya want for nothing?').toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ])('HMAC-SHA256 with key %s matches the RFC in node and noble', (key, data, mac) => {
    expect(createHmac('sha256', hex(key)).update(hex(data)).digest('hex')).toBe(mac);
    expect(toHex(hmac(sha256, hex(key), hex(data)))).toBe(mac);
  });
});

describe('AES-256-GCM (GCM spec test cases 13–16, NIST CAVP format)', () => {
  const key = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
  const plaintext = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
  const ciphertext = '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
  it('case 13: zero key, empty plaintext gives the published tag', () => {
    expect(nodeGcm('00'.repeat(32), '00'.repeat(12), '')).toBe('530f8afbc74536b9a963b4f1c4cb738b');
  });
  it('case 14: zero key, one zero block', () => {
    expect(nodeGcm('00'.repeat(32), '00'.repeat(12), '00'.repeat(16)))
      .toBe('cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919');
  });
  it('case 15: four blocks, no AAD', () => {
    expect(nodeGcm(key, 'cafebabefacedbaddecaf888', plaintext)).toBe(ciphertext + 'b094dac5d93471bdec1a502270e3cc6c');
  });
  it('case 16: partial block with AAD, in node and noble', () => {
    const aad = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
    const expected = ciphertext.slice(0, 120) + '76fc6ece0f4e1768cddf8853bb2d551b';
    expect(nodeGcm(key, 'cafebabefacedbaddecaf888', plaintext.slice(0, 120), aad)).toBe(expected);
    expect(toHex(gcm(hex(key), hex('cafebabefacedbaddecaf888'), hex(aad)).encrypt(hex(plaintext.slice(0, 120))))).toBe(expected);
  });
});

describe('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §A.3.1)', () => {
  it('encrypts the sunscreen vector to the published ciphertext and tag, and decrypts it back', () => {
    const key = new Uint8Array(32).map((_, i) => 0x80 + i);
    const nonce = new Uint8Array(24).map((_, i) => 0x40 + i);
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const message = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const expected = 'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39'
      + 'ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97'
      + '637da9768812f615c68b13b52e' + 'c0875924c1c7987947deafd8780acf49';
    const sealed = xchacha20poly1305(key, nonce, aad).encrypt(message);
    expect(toHex(sealed)).toBe(expected);
    expect(Buffer.from(xchacha20poly1305(key, nonce, aad).decrypt(sealed)).equals(message)).toBe(true);
  });
});

describe('node:crypto against @noble on seeded random inputs', () => {
  const random = new SplitMix32(0xc0ffee);
  it('sha256, HMAC-SHA256 and AES-256-GCM agree on 60 random inputs', () => {
    for (let i = 0; i < 60; i++) {
      const message = random.bytes(random.nextBelow(5000));
      const key = random.bytes(32);
      const nonce = random.bytes(12);
      expect(createHash('sha256').update(message).digest('hex')).toBe(toHex(sha256(message)));
      expect(createHmac('sha256', key).update(message).digest('hex')).toBe(toHex(hmac(sha256, key, message)));
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const ours = Buffer.concat([cipher.update(message), cipher.final(), cipher.getAuthTag()]);
      expect(toHex(ours)).toBe(toHex(gcm(key, nonce).encrypt(message)));
    }
  });
});
