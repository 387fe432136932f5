// Init: finds the handler's file (Lambda's "file.export" handler string), decides CommonJS vs
// ES module the way Node does (.mjs/.cjs, package.json "type", then syntax), and runs the top
// level inside the guest.
import type { QuickJSHandle } from 'quickjs-emscripten-core';
import { DriverError, type FunctionError } from '../driver.js';
import { codeBytesMax, codeFilesMax } from '../limits.js';
import { drivePromise, type PromiseDriver } from './engine-settle.js';

export type ModuleKind = 'commonjs' | 'module';

export interface LoadedModule {
  kind: ModuleKind;
  sources: Record<string, string> | null; // ES module sources for the runtime's module loader
  handler: string;
}

export interface Entry {
  kind: ModuleKind;
  path: string;
  exportName: string;
}

const esmSyntax = /^\s*(import\s*[\w{*'"]|export\s+(default|const|let|var|function|async|class|\{|\*)|export\s*\{)/m;

export function validateCode(files: Readonly<Record<string, string>>, handler: string): void {
  const paths = Object.keys(files);
  if (paths.length === 0 || paths.length > codeFilesMax) throw new DriverError('CodeInvalid', `code must have 1..${codeFilesMax} files, has ${paths.length}`);
  let total = 0;
  for (const path of paths) {
    if (typeof files[path] !== 'string' || path.startsWith('/') || path.split('/').includes('..')) throw new DriverError('CodeInvalid', `bad file entry ${JSON.stringify(path)}`);
    total += files[path].length;
  }
  if (total > codeBytesMax) throw new DriverError('CodeInvalid', `code exceeds ${codeBytesMax} bytes unzipped`);
  if (!/^[^.\s][^\s]*\.[A-Za-z_$][\w$]*$/.test(handler)) throw new DriverError('CodeInvalid', `handler ${JSON.stringify(handler)} is not "file.export"`);
}

export function resolveEntry(files: Readonly<Record<string, string>>, handler: string): Entry | { error: FunctionError } {
  const dot = handler.lastIndexOf('.');
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const path = [`${modulePath}.js`, `${modulePath}.mjs`, `${modulePath}.cjs`].find((candidate) => candidate in files);
  if (path === undefined) {
    const message = `Error: Cannot find module '${modulePath}'`;
    return { error: { errorType: 'Runtime.ImportModuleError', errorMessage: message, trace: [`Runtime.ImportModuleError: ${message}`] } };
  }
  return { kind: moduleKindOf(files, path), path, exportName };
}

function moduleKindOf(files: Readonly<Record<string, string>>, path: string): ModuleKind {
  if (path.endsWith('.mjs')) return 'module';
  if (path.endsWith('.cjs')) return 'commonjs';
  const parts = path.split('/');
  for (let depth = parts.length - 1; depth >= 0; depth--) {
    const manifest = files[[...parts.slice(0, depth), 'package.json'].join('/')];
    if (manifest === undefined) continue;
    try {
      const type = (JSON.parse(manifest) as { type?: string }).type;
      if (type === 'module') return 'module';
      if (type === 'commonjs') return 'commonjs';
    } catch {
      // A broken package.json does not decide the module kind; fall through to syntax.
    }
    break;
  }
  return esmSyntax.test(files[path]) ? 'module' : 'commonjs';
}

interface LoadDriver extends PromiseDriver {
  readonly control: QuickJSHandle;
  callControlAsync(method: string, args: (string | QuickJSHandle)[]): ReturnType<typeof drivePromise>;
}

/** Runs the module's top level; returns the guest error, if any (undefined on success). */
export async function loadModuleCode(driver: LoadDriver, files: Readonly<Record<string, string>>, entry: Entry & { kind: ModuleKind }, handler: string): Promise<FunctionError | undefined> {
  if (entry.kind === 'commonjs') {
    const settled = await driver.callControlAsync('loadCommonJs', [JSON.stringify(files), entry.path, entry.exportName, handler]);
    if (settled.kind === 'value') settled.handle.dispose();
    return settled.kind === 'error' ? settled.error : undefined;
  }
  const context = driver.context;
  const settled = await drivePromise(driver, () => context.evalCode(files[entry.path], entry.path, { type: 'module' }));
  if (settled.kind !== 'value') return settled.kind === 'error' ? settled.error : undefined;
  const result = driver.callControl('setHandler', [settled.handle, entry.exportName, handler]);
  settled.handle.dispose();
  if (!result.error) {
    result.value.dispose();
    return undefined;
  }
  const text = context.getString(context.unwrapResult(driver.callControl('errorJson', [result.error])));
  result.error.dispose();
  return JSON.parse(text) as FunctionError;
}
