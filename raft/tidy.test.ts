// Method: style as a test (STYLE.md §18), scoped to raft/: the deterministic parts use no clock,
// timers, ambient randomness or environment; nothing imports outside raft/ except node: builtins
// and vitest; files stay under 400 lines and functions under 70.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = import.meta.dirname;
const banned = [/Date\.now/, /performance\.now/, /Math\.random/, /randomUUID/, /setTimeout/, /setInterval/, /setImmediate/, /process\.env/, /new Date\(/];
const deterministic = ['core', 'sim', 'linearizability'];

function files(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const sources = files(root).map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }));
const code = (text: string) => text.split('\n').filter((line) => !line.trim().startsWith('//')).join('\n');

describe('raft tidy', () => {
  it('keeps clocks, timers, randomness and the environment out of the deterministic parts', () => {
    const offenders = sources
      .filter(({ path }) => deterministic.includes(path.split('/')[0]) && !path.endsWith('cli.ts'))
      .flatMap(({ path, text }) => banned.filter((pattern) => pattern.test(code(text))).map((pattern) => `${path}: ${pattern}`));
    expect(offenders).toEqual([]);
  });

  it('imports nothing outside raft/ but node builtins and vitest', () => {
    const offenders = sources.filter(({ path }) => path !== 'tidy.test.ts').flatMap(({ path, text }) =>
      [...text.matchAll(/from '([^']+)'/g)]
        .map((match) => match[1])
        .filter((target) => !(target.startsWith('node:') || target === 'vitest' || (target.startsWith('.') && !join(path, '..', target).startsWith('..'))))
        .map((target) => `${path} -> ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps files at 400 lines or fewer', () => {
    const long = sources.filter(({ text }) => text.split('\n').length > 400).map(({ path }) => path);
    expect(long).toEqual([]);
  });

  it('keeps functions at 70 lines or fewer', () => {
    const long: string[] = [];
    for (const { path, text } of sources) {
      const lines = text.split('\n');
      lines.forEach((line, start) => {
        if (!/^\s*(export )?(async )?(function |(private |static |get )*[a-zA-Z]+\(.*\)(: [^=]+)? \{$)/.test(line)) return;
        const indent = line.length - line.trimStart().length;
        const end = lines.findIndex((other, k) => k > start && other.startsWith(' '.repeat(indent) + '}') && other.length - other.trimStart().length === indent);
        if (end - start > 70) long.push(`${path}:${start + 1} (${end - start} lines)`);
      });
    }
    expect(long).toEqual([]);
  });
});
