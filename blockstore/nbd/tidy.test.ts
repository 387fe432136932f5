// Method: static scan of blockstore/nbd/'s own source (STYLE §1, §8, §14, §18). The pure files
// (codec, values, limits, errors, the seam) must not touch the network, disk, clocks, randomness
// or the environment; no file imports another layer except dedup/errors.ts; files stay ≤ 400 lines.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const folder = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(folder).filter((name) => name.endsWith('.ts') && name !== 'tidy.test.ts');
const pure = ['protocol.ts', 'limits.ts', 'errors.ts', 'handshake-codec.ts', 'transmission-codec.ts', 'block-device.ts'];
const impure = [/\bDate\.now\b/, /\bperformance\.now\b/, /\bMath\.random\b/, /\bprocess\.env\b/, /\bsetTimeout\b/, /\bsetImmediate\b/, /from 'node:/];

describe('blockstore/nbd tidy', () => {
  it.each(pure)('%s is pure: no I/O, clock, randomness or environment', (name) => {
    const text = readFileSync(join(folder, name), 'utf8');
    for (const pattern of impure) expect(text, `${name} matches ${pattern}`).not.toMatch(pattern);
  });

  it.each(sources)('%s imports only this folder, dedup/errors.ts, node: and vitest; ≤ 400 lines; no FIXME', (name) => {
    const text = readFileSync(join(folder, name), 'utf8');
    for (const [, target] of text.matchAll(/from '([^']+)'/g)) {
      const allowed = /^\.\/[a-z0-9-]+\.js$/.test(target) || target === '../../dedup/errors.js' || target.startsWith('node:') || target === 'vitest';
      expect(allowed, `${name} imports ${target}`).toBe(true);
    }
    expect(text.split('\n').length).toBeLessThanOrEqual(400);
    expect(text).not.toMatch(/\bFIXME\b/);
  });
});
