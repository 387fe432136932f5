// tools/cairn execs node with the server's memory settings (tools/README.md): the pid a caller
// started is node itself (kill -9 reaches the server, not a shell) and the settings are in force.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';

describe.runIf(process.platform === 'linux')('the cairn launcher', () => {
  let cairn: CairnProcess;
  beforeAll(async () => { cairn = await startCairn(); }, 60_000);
  afterAll(async () => { await cairn.stop(); await removeDataDir(cairn.dataDir); });

  it('leaves node running under the pid it was started with, with both memory settings', async () => {
    const pid = cairn.child.pid!;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    expect(argv[0]).toBe(process.execPath);
    expect(argv).toContain('--max-semi-space-size=8');
    expect(argv).toContain('--initial-old-space-size=64'); // fewer full GCs per GiB streamed
    expect(argv).toContain('--expose-gc'); // the gateway's full-GC hint after multi-GiB transfers
    expect(argv.some((arg) => arg.endsWith('tools/cli.js') || arg.endsWith('tools/cli.ts'))).toBe(true);
    const environment = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    expect(environment).toContain('MALLOC_ARENA_MAX=2');
  });
});
