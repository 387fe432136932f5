// Method: static scan of dedup/'s own source (STYLE.md §8, §14, §18): the pure core must not
// reach for I/O, clocks, ambient randomness or the environment, must import nothing of ours
// outside dedup/, and must keep files and functions small.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const folder = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(folder).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
const banned = [
  /\bDate\.now\b/, /\bnew Date\b/, /\bperformance\.now\b/, /\bMath\.random\b/, /\brandomUUID\b/, /\brandomBytes\b/,
  /\bprocess\.env\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /from 'node:(fs|net|http|https|child_process|dgram|os)/,
  /\bFIXME\b/,
];

describe('dedup tidy', () => {
  it.each(sources)('%s uses no banned API, imports only dedup/ and allowed packages, stays small', (name) => {
    const text = readFileSync(join(folder, name), 'utf8');
    for (const pattern of banned) expect(text, `${name} matches ${pattern}`).not.toMatch(pattern);
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1]);
    for (const target of imports) {
      const allowed = /^\.\/[a-z0-9-]+\.js$/.test(target) || ['node:crypto', '@noble/ciphers/chacha.js'].includes(target);
      expect(allowed, `${name} imports ${target}`).toBe(true);
    }
    expect(text.split('\n').length).toBeLessThanOrEqual(400);
  });

  it.each(sources)('%s has no function longer than 70 lines', (name) => {
    const lines = readFileSync(join(folder, name), 'utf8').split('\n');
    let openedAt = -1;
    lines.forEach((line, i) => {
      // Top-level declarations start at column 0 and close with a "}" at column 0.
      if (/^(export )?(async )?(function|class)\b/.test(line) || /^\s{2}(private |static |readonly )*[a-zA-Z]+\(.*\).*\{$/.test(line)) {
        openedAt = i;
      }
      if (openedAt >= 0 && /^(\}|\s{2}\})$/.test(line)) {
        if (!/^(export )?class\b/.test(lines[openedAt])) expect(i - openedAt, `${name}:${openedAt + 1}`).toBeLessThanOrEqual(70);
        openedAt = -1;
      }
    });
  });
});
