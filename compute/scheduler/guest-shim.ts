// The guest-side entry Cairn puts in front of a function's handler. The wasm environment has no
// network and the driver's only ways out are console output and the invoke result (driver.ts
// contract), so host services (cairn.s3.getObject/putObject) work as continuations:
//   leg 1: {__cairnLeg:'start', event, env} → the handler runs until it finishes, or until it
//          waits only on host calls; then the entry returns {__cairnCalls:[{id, op, args}]}
//   leg n: {__cairnLeg:'resume', results} → the entry settles those promises and waits again.
// The handler's promise stays alive in the guest heap between legs (same environment, no
// restore in between); the scheduler loops legs until {__cairnResult}. Also gives the guest
// `process.env` (Lambda's environment variables; no other `process` surface).
import type { FunctionCode } from '../drivers/index.js';

export const shimPath = '__cairn_entry';

const esmSyntax = /^\s*(import\s*[\w{*'"]|export\s+(default|const|let|var|function|async|class|\{|\*)|export\s*\{)/m;

function isModule(files: Readonly<Record<string, string>>, path: string): boolean {
  if (path.endsWith('.mjs')) return true;
  if (path.endsWith('.cjs')) return false;
  const manifest = files['package.json'];
  if (manifest !== undefined && /"type"\s*:\s*"module"/.test(manifest)) return true;
  return esmSyntax.test(files[path]);
}

const body = String.raw`
const pending = new Map();
let outbox = [];
let nextId = 1;
let wake = null;
let current = null;
function hostCall(op, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    outbox.push({ id, op, args: args === undefined ? null : args });
    if (wake) { const w = wake; wake = null; setTimeout(w, 0); }
  });
}
if (typeof globalThis.process !== 'object') globalThis.process = { env: {} };
Object.assign(globalThis.process.env, __ENV__);
globalThis.cairn = { s3: {
  getObject: (params) => hostCall('s3.getObject', params),
  putObject: (params) => hostCall('s3.putObject', params),
} };
function waitForCalls() {
  return new Promise((resolve) => {
    if (outbox.length) setTimeout(resolve, 0); else wake = resolve;
  });
}
function callUser(fn, event, context) {
  if (typeof fn !== 'function') { const e = new Error(__HANDLER__ + ' is undefined or not exported'); e.name = 'Runtime.HandlerNotFound'; throw e; }
  if (fn.length < 3) return fn(event, context);
  return new Promise((resolve, reject) => {
    const result = fn(event, context, (error, value) => (error ? reject(error) : resolve(value)));
    if (result && typeof result.then === 'function') result.then(resolve, reject);
  });
}
async function entry(message, context) {
  wake = null;
  if (message && message.__cairnLeg === 'resume') {
    for (const result of message.results) {
      const waiter = pending.get(result.id);
      if (!waiter) continue;
      pending.delete(result.id);
      if (result.ok) waiter.resolve(result.value);
      else { const e = new Error(result.error.message); e.name = result.error.name; waiter.reject(e); }
    }
  } else {
    outbox = [];
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'CAIRN_S3_ENDPOINT']) delete globalThis.process.env[key];
    Object.assign(globalThis.process.env, message.env || {});
    current = Promise.resolve().then(() => callUser(user[__EXPORT__], message.event, context))
      .then((value) => ({ done: true, ok: true, value }), (error) => ({ done: true, ok: false, error }));
  }
  const outcome = await Promise.race([current, waitForCalls().then(() => ({ done: false }))]);
  wake = null;
  if (!outcome.done) { const calls = outbox; outbox = []; return { __cairnCalls: calls }; }
  current = null;
  if (!outcome.ok) throw outcome.error;
  return { __cairnResult: outcome.value === undefined ? null : outcome.value };
}
`;

/** Wraps `code` so its handler runs behind the shim; unknown handler files are left to the driver. */
export function wrapCode(code: FunctionCode, environment: Record<string, string>): FunctionCode {
  const dot = code.handler.lastIndexOf('.');
  const modulePath = code.handler.slice(0, dot);
  const exportName = code.handler.slice(dot + 1);
  const path = [`${modulePath}.js`, `${modulePath}.mjs`, `${modulePath}.cjs`].find((candidate) => candidate in code.files);
  if (path === undefined || dot <= 0) return code;
  const filled = body.replace('__ENV__', JSON.stringify(environment)).replace('__HANDLER__', JSON.stringify(code.handler)).replace('__EXPORT__', JSON.stringify(exportName));
  if (isModule(code.files, path)) {
    const source = `import * as user from './${path}';\n${filled}\nexport { entry };\n`;
    return { files: { ...code.files, [`${shimPath}.mjs`]: source }, handler: `${shimPath}.entry` };
  }
  const source = `'use strict';\nconst user = require('./${path}');\n${filled}\nexports.entry = entry;\n`;
  return { files: { ...code.files, [`${shimPath}.cjs`]: source }, handler: `${shimPath}.entry` };
}

export interface HostCall {
  id: number;
  op: string;
  args: unknown;
}

export type HostCallResult = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string } };

export function startMessage(eventJson: string, env: Record<string, string>): string {
  return `{"__cairnLeg":"start","env":${JSON.stringify(env)},"event":${eventJson}}`;
}

export function resumeMessage(results: HostCallResult[]): string {
  return JSON.stringify({ __cairnLeg: 'resume', results });
}
