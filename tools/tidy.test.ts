// Style is a test (STYLE.md §18). Method: read every source file as text and check the layer
// rules of ARCHITECTURE.md (imports point down), the bans on hidden nondeterminism in cores
// (§8), file size (§14), leftover FIXMEs, and that every folder has its README (§16).
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const layers = ['dedup', 'raft', 'blockstore', 'gateway', 'compute', 'tools', 'test'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const files = layers.filter((layer) => existsSync(join(root, layer))).flatMap((layer) => sourceFiles(join(root, layer)));

/** Where each folder may import from (prefixes of repo-relative paths). Tests may reach further. */
const allowed: [string, string[]][] = [
  ['dedup/', ['dedup/']],
  ['raft/', ['raft/']],
  ['blockstore/meta/', ['blockstore/meta/', 'dedup/']],
  ['blockstore/chunks/', ['blockstore/chunks/', 'blockstore/meta/', 'dedup/']],
  ['blockstore/blobs/', ['blockstore/blobs/', 'blockstore/chunks/', 'blockstore/meta/', 'dedup/']],
  ['blockstore/nbd/', ['blockstore/nbd/', 'dedup/']],
  ['blockstore/', ['blockstore/', 'dedup/']],
  ['gateway/', ['gateway/', 'blockstore/', 'dedup/']],
  ['compute/', ['compute/', 'gateway/auth/', 'gateway/service/', 'gateway/s3-errors', 'blockstore/', 'dedup/']],
  ['tools/', ['']],
  ['test/', ['']],
];

function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) found.push(match[1]);
  for (const match of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(match[1]);
  return found;
}

const isTestFile = (path: string) => path.endsWith('.test.ts') || path.includes('-conformance.ts') || path.endsWith('test-tools.ts') || /\/guest-[^/]*\.ts$/.test(path);

describe('tidy', () => {
  it('imports point down the layer diagram', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = relative(root, file);
      const rule = allowed.find(([prefix]) => from.startsWith(prefix));
      if (!rule || isTestFile(file)) continue;
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const target = relative(root, resolve(dirname(file), specifier));
        if (!rule[1].some((prefix) => target.startsWith(prefix))) violations.push(`${from} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('cores hide no clock, randomness, timers or environment', () => {
    const cores = ['dedup/', 'raft/core/', 'raft/sim/', 'raft/linearizability/'];
    const banned = /\b(Date\.now|performance\.now|Math\.random|crypto\.randomUUID|randomUUID|setTimeout|setInterval|process\.env)\b/;
    const violations = files
      .filter((file) => cores.some((core) => relative(root, file).startsWith(core)) && !isTestFile(file))
      .filter((file) => !relative(root, file).endsWith('/cli.ts'))
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').map((line, index) => ({ file, line, index })))
      .filter(({ line }) => banned.test(line.replace(/\/\/.*$/, '')))
      .map(({ file, index }) => `${relative(root, file)}:${index + 1}`);
    expect(violations).toEqual([]);
  });

  it('only tools/ and tests read process.env', () => {
    const violations = files
      .filter((file) => !relative(root, file).startsWith('tools/') && !relative(root, file).startsWith('test/') && !isTestFile(file))
      .filter((file) => /\bprocess\.env\b/.test(readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '')))
      .map((file) => relative(root, file));
    expect(violations).toEqual([]);
  });

  it('files stay under 800 lines and carry no FIXME', () => {
    const long = files.filter((file) => readFileSync(file, 'utf8').split('\n').length > 800).map((file) => relative(root, file));
    const fixme = files.filter((file) => !file.endsWith('tidy.test.ts') && /\bFIXME\b/.test(readFileSync(file, 'utf8'))).map((file) => relative(root, file));
    expect(long).toEqual([]);
    expect(fixme).toEqual([]);
  });

  it('every top-level folder and every blockstore/ component has a README', () => {
    const folders = new Set(files.map((file) => relative(root, dirname(file)).split('/').slice(0, 2))
      .map((parts) => (parts[0] === 'blockstore' ? parts.join('/') : parts[0])));
    const missing = [...folders].filter((dir) => !existsSync(join(root, dir, 'README.md')) && statSync(join(root, dir)).isDirectory());
    expect(missing).toEqual([]);
  });
});
