// Method: each raft/testdata/*.txt script is replayed against fresh nodes and its output must
// match the file byte for byte. After a deliberate behaviour change, regenerate with
// `REWRITE=1 npx vitest run raft/scenario` and read the diff before committing it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from './interpreter.js';

const directory = join(import.meta.dirname, '..', 'testdata');
const rewrite = process.env.REWRITE === '1';

describe('raft scenario scripts', () => {
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.txt')).sort()) {
    it(`${file} matches its recorded output`, () => {
      const path = join(directory, file);
      const script = readFileSync(path, 'utf8');
      const actual = runScript(script);
      if (rewrite) writeFileSync(path, actual);
      else expect(actual).toBe(script);
    });
  }
});
