// walkKeys against a brute-force model. Method: seeded random key sets (with '/' and '-' as
// delimiters, multi-byte characters) and random prefix/delimiter/page sizes; paging through
// walkKeys by its `last` cursor must yield exactly the model's keys and common prefixes in order.
import { describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../blockstore/meta/index.js';
import { walkKeys } from './listing.js';
import { prng } from '../seeded-random.test-support.js';


const alphabet = ['a', 'b', '/', '-', 'ü', 'z', '~'];

function model(keys: string[], prefix: string, delimiter: string): string[] {
  const out: string[] = [];
  for (const key of [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))) {
    if (!key.startsWith(prefix)) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const item = at === -1 ? key : key.slice(0, at + delimiter.length);
    if (out.at(-1) !== item) out.push(item);
  }
  return out;
}

describe('walkKeys', () => {
  it('pages through keys and common prefixes exactly as the model, for 200 random cases', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const meta = new MemoryMetaStore();
      const keys = new Set<string>();
      const count = 1 + Math.floor(random() * 40);
      while (keys.size < count) keys.add(Array.from({ length: 1 + Math.floor(random() * 6) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
      await meta.batch([...keys].map((key) => ({ type: 'put' as const, key: `o/bucket/${key}`, value: Buffer.from(key) })));
      await meta.batch([{ type: 'put', key: 'o/bucket0', value: Buffer.from('neighbour') }, { type: 'put', key: 'o/buck/x', value: Buffer.from('other') }]);
      const prefix = random() < 0.5 ? '' : alphabet[Math.floor(random() * alphabet.length)];
      const delimiter = random() < 0.3 ? '' : random() < 0.7 ? '/' : '-';
      const maxKeys = 1 + Math.floor(random() * 5);
      const seen: string[] = [];
      let after = '';
      for (let page = 0; page < 100; page++) {
        const result = await walkKeys(meta, { namespace: 'o/bucket/', prefix, delimiter, after, maxKeys });
        const items = [...result.entries.map((entry) => entry.key), ...result.commonPrefixes]
          .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        expect(items.length).toBeLessThanOrEqual(maxKeys);
        seen.push(...items);
        if (!result.isTruncated) break;
        after = result.last!;
      }
      expect(seen, `seed ${seed} prefix ${prefix} delimiter ${delimiter}`).toEqual(model([...keys], prefix, delimiter));
    }
  });
});
