// `npm run bench`: every benchmark prints its figure beside a reference measured in the same
// run. `npm run bench -- s3 nbd` runs only those; each module exports run(): Promise<BenchRow[]>.
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRows, type BenchRow } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));

async function main(filter: string[]): Promise<void> {
  const names = (await readdir(here))
    .filter((file) => /^[a-z0-9-]+\.ts$/.test(file) && !['main.ts', 'report.ts', 'child.ts'].includes(file) && !file.endsWith('.test.ts'))
    .map((file) => file.replace(/\.ts$/, ''))
    .filter((name) => filter.length === 0 || filter.includes(name));
  const failures: string[] = [];
  for (const name of names) {
    process.stdout.write(`\n== ${name} ==\n`);
    const started = performance.now();
    try {
      const module = await import(join(here, `${name}.ts`)) as { run?: () => Promise<BenchRow[]> };
      if (typeof module.run !== 'function') continue;
      const rows = await module.run();
      process.stdout.write(formatRows(rows) + '\n');
    } catch (error) {
      failures.push(name);
      process.stdout.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    }
    process.stdout.write(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  if (failures.length > 0) {
    process.stdout.write(`\nfailed: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(String(error) + '\n');
  process.exit(1);
});
