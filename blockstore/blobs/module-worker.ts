// Worker threads whose entry is a module beside the caller, started the same way however Cairn
// runs: under tsx or vitest the caller and its entry are .ts, and the worker registers tsx before
// importing the entry; after `tsc` both are .js and the worker imports the entry directly.
// Here because the seal pool needs it and compute (which may import blockstore) shares it.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `./<stem>.ts` or `./<stem>.js` beside `callerUrl` (an import.meta.url), matching the caller's own kind. */
export function siblingModule(callerUrl: string, stem: string): URL {
  return new URL(`./${stem}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

export function startModuleWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.href.endsWith('.ts')) return new Worker(entry, options);
  // require.resolve finds tsx's CommonJS face; the worker imports its ESM twin beside it.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
