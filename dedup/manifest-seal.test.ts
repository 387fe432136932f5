// Method: round trip of seeded manifests through the envelope; the sealed form recomputed from
// its definition with @noble; and a seeded fuzz (every byte region flipped, truncations, wrong
// master key, noise) whose only allowed outcome is ManifestCorrupt.
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { CairnError } from './errors.js';
import { openManifest, sealManifest } from './manifest-seal.js';
import { SplitMix32 } from './splitmix32.js';
import { codeOf } from './error-code-of.test-support.js';


describe('sealManifest / openManifest', () => {
  const random = new SplitMix32(41);
  const masterKey = random.bytes(32);

  it('round-trips encoded manifests of several sizes', () => {
    for (const size of [20, 88, 20 + 68 * 1000]) {
      const encoded = random.bytes(size);
      const sealed = sealManifest(encoded, masterKey, random.bytes(32), random.bytes(24));
      expect(sealed.length).toBe(80 + size + 16);
      expect(openManifest(sealed, masterKey).equals(encoded)).toBe(true);
    }
  });

  it('matches its definition: XChaCha20-Poly1305 key wrap, then AES-256-GCM body over the header', () => {
    const encoded = random.bytes(200);
    const dataKey = random.bytes(32);
    const nonce = random.bytes(24);
    const sealed = sealManifest(encoded, masterKey, dataKey, nonce);
    const prefix = Buffer.from([0x43, 0x52, 0x4e, 0x53, 0, 1, 0, 0]);
    const wrapped = xchacha20poly1305(masterKey, nonce, prefix).encrypt(dataKey);
    const header = Buffer.concat([prefix, nonce, wrapped]);
    const body = gcm(dataKey, nonce.subarray(0, 12), header).encrypt(encoded);
    expect(sealed.equals(Buffer.concat([header, body]))).toBe(true);
  });

  it('answers tamper, truncation, a wrong master key and noise only with ManifestCorrupt', () => {
    const encoded = random.bytes(300);
    const sealed = sealManifest(encoded, masterKey, random.bytes(32), random.bytes(24));
    for (let i = 0; i < 400; i++) {
      const input = Buffer.from(sealed);
      const kind = i % 4;
      if (kind === 0) input[random.nextBelow(input.length)] ^= 1 << random.nextBelow(8);
      const candidate = kind === 1 ? input.subarray(0, random.nextBelow(input.length))
        : kind === 2 ? random.bytes(random.nextBelow(500)) : input;
      const key = kind === 3 ? random.bytes(32) : masterKey;
      expect(codeOf(() => openManifest(candidate, key))).toBe('ManifestCorrupt');
    }
  });
});
