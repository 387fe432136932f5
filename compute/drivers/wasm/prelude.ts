// The guest side of the environment: JavaScript evaluated inside QuickJS before user code. It
// builds the Node-like surface a Lambda handler expects (console, timers, TextEncoder/Decoder,
// URL, crypto.getRandomValues, CommonJS require) and returns a "control" object the host keeps
// one boxed handle to. Everything it defines lives in the guest heap, so it travels inside the
// snapshot image; the host only re-attaches the single host function `host(op, a, b)`.
//
// Why in the guest: each host call crosses the FFI and allocates handles; keeping timers, the
// module cache and error shaping in the guest makes an invocation 3–4 FFI calls.

export const preludeFileName = 'cairn:prelude.js';

export const preludeSource = String.raw`(function (host) {
'use strict';
const g = globalThis;

// ---- randomness: xoshiro128** re-seeded by the host after every restore (WASM-SNAPSHOTS.md).
let s0 = 0x9e3779b9, s1 = 0x243f6a88, s2 = 0xb7e15162, s3 = 0x85a308d3;
const rotl = (x, k) => (x << k) | (x >>> (32 - k));
function next32() {
  const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
  return result;
}
function reseed(hex) {
  s0 = parseInt(hex.slice(0, 8), 16) | 0; s1 = parseInt(hex.slice(8, 16), 16) | 0;
  s2 = parseInt(hex.slice(16, 24), 16) | 0; s3 = parseInt(hex.slice(24, 32), 16) | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
}
Math.random = function random() { return (next32() * 2097152 + (next32() >>> 11)) / 9007199254740992; };
g.crypto = {
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array) throw new TypeError('getRandomValues: expected an integer TypedArray');
    if (array.byteLength > 65536) throw new RangeError('getRandomValues: more than 65536 bytes requested');
    const hex = host('random', array.byteLength);
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    return array;
  },
  randomUUID() {
    const b = g.crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  },
};

// ---- console: formatted here, timestamped and captured by the host.
function inspect(value, depth) {
  if (typeof value === 'string') return depth === 0 ? value : JSON.stringify(value);
  if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\n' + value.stack.trimEnd() : String(value);
  if (typeof value === 'function') return '[Function: ' + (value.name || 'anonymous') + ']';
  if (typeof value === 'bigint') return value + 'n';
  if (value === null || typeof value !== 'object') return String(value);
  try { return JSON.stringify(value); } catch (e) { return Object.prototype.toString.call(value); }
}
function format(args) {
  let first = args[0], rest = 1, text;
  if (typeof first === 'string' && first.includes('%')) {
    text = first.replace(/%[sdifjoO%]/g, (m) => {
      if (m === '%%') return '%';
      if (rest >= args.length) return m;
      const a = args[rest++];
      if (m === '%d' || m === '%i') return String(m === '%i' ? parseInt(a) : Number(a));
      if (m === '%f') return String(parseFloat(a));
      if (m === '%s') return typeof a === 'string' ? a : inspect(a, 1);
      return inspect(a, 1);
    });
  } else { text = args.length ? inspect(first, 0) : ''; }
  for (; rest < args.length; rest++) text += ' ' + inspect(args[rest], 0);
  return text;
}
const levels = { log: 'INFO', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', warn: 'WARN', error: 'ERROR' };
g.console = {};
for (const name of Object.keys(levels)) g.console[name] = (...args) => { host('log', levels[name], format(args)); };

// ---- timers: a table in the guest; the host asks when the next one is due and fires them.
const timers = new Map();
let timerNext = 1;
let uncaught = undefined;
function addTimer(fn, ms, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const delay = Math.max(repeat ? 1 : 0, Number(ms) || 0);
  const id = timerNext++;
  timers.set(id, { fn, args, due: Date.now() + delay, repeat: repeat ? delay : 0 });
  return id;
}
g.setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
g.setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
g.setImmediate = (fn, ...args) => addTimer(fn, 0, args, false);
g.clearTimeout = g.clearInterval = g.clearImmediate = (id) => { timers.delete(id); };
g.queueMicrotask = (fn) => { Promise.resolve().then(fn); };
function nextTimerDelay() {
  let due = Infinity;
  for (const timer of timers.values()) if (timer.due < due) due = timer.due;
  return due === Infinity ? -1 : Math.max(0, due - Date.now());
}
function runDueTimers() {
  const now = Date.now();
  for (const [id, timer] of Array.from(timers)) {
    if (timer.due > now || !timers.has(id)) continue;
    if (timer.repeat) timer.due = now + timer.repeat; else timers.delete(id);
    try { timer.fn(...timer.args); } catch (error) { if (uncaught === undefined) uncaught = error; }
  }
}

// ---- TextEncoder / TextDecoder (UTF-8 only, as in Node).
g.TextEncoder = class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') {
    const s = String(input), out = [];
    for (let i = 0; i < s.length; i++) {
      let c = s.codePointAt(i);
      if (c > 0xffff) i++;
      else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }
};
g.TextDecoder = class TextDecoder {
  constructor(label = 'utf-8') { if (!/^utf-?8$/i.test(label)) throw new RangeError('TextDecoder: only utf-8 is supported'); }
  get encoding() { return 'utf-8'; }
  decode(input) {
    if (input === undefined) return '';
    const b = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let s = '', i = 0;
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
    while (i < b.length) {
      const c = b[i];
      let n = c < 0x80 ? 0 : c >= 0xf0 && c < 0xf8 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
      let cp = n === 0 ? c : n === 1 ? c & 31 : n === 2 ? c & 15 : c & 7;
      if (n < 0 || i + n >= b.length) { s += '\ufffd'; i++; continue; }
      let ok = true;
      for (let k = 1; k <= n; k++) { const x = b[i + k]; if ((x & 0xc0) !== 0x80) { ok = false; break; } cp = (cp << 6) | (x & 63); }
      if (!ok) { s += '\ufffd'; i++; continue; }
      s += String.fromCodePoint(cp); i += n + 1;
    }
    return s;
  }
};

// ---- URL / URLSearchParams: the parts handlers use (WHATWG URL, simplified: no IDNA).
const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return s; } };
g.URLSearchParams = class URLSearchParams {
  constructor(init = '') {
    this._list = [];
    if (typeof init === 'string') {
      for (const part of init.replace(/^\?/, '').split('&')) if (part) { const k = part.indexOf('='); this._list.push(k < 0 ? [dec(part), ''] : [dec(part.slice(0, k)), dec(part.slice(k + 1))]); }
    } else if (init && typeof init === 'object') {
      for (const [k, v] of (Symbol.iterator in init ? init : Object.entries(init))) this._list.push([String(k), String(v)]);
    }
  }
  append(k, v) { this._list.push([String(k), String(v)]); this._changed(); }
  delete(k) { this._list = this._list.filter((e) => e[0] !== k); this._changed(); }
  get(k) { const e = this._list.find((x) => x[0] === k); return e ? e[1] : null; }
  getAll(k) { return this._list.filter((e) => e[0] === k).map((e) => e[1]); }
  has(k) { return this._list.some((e) => e[0] === k); }
  set(k, v) { const i = this._list.findIndex((e) => e[0] === k); if (i < 0) this._list.push([String(k), String(v)]); else { this._list[i][1] = String(v); this._list = this._list.filter((e, j) => j <= i || e[0] !== k); } this._changed(); }
  forEach(fn, self) { for (const [k, v] of this._list) fn.call(self, v, k, this); }
  keys() { return this._list.map((e) => e[0])[Symbol.iterator](); }
  values() { return this._list.map((e) => e[1])[Symbol.iterator](); }
  entries() { return this._list.map((e) => [e[0], e[1]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this._list.map((e) => enc(e[0]) + '=' + enc(e[1])).join('&'); }
  _changed() { if (this._url) this._url._search = this._list.length ? '?' + this.toString() : ''; }
};
const urlPattern = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@\/?#]*)(?::([^@\/?#]*))?@)?(\[[^\]]*\]|[^:\/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;
const defaultPorts = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };
function normalizePath(path) {
  const out = [];
  for (const seg of path.split('/').slice(1)) { if (seg === '..') out.pop(); else if (seg !== '.') out.push(seg); }
  const last = path.split('/').pop();
  return '/' + out.join('/') + (last === '.' || last === '..' ? '/' : '');
}
g.URL = class URL {
  constructor(input, base) {
    input = String(input).trim();
    let m = urlPattern.exec(input);
    if (!m) {
      if (base === undefined) throw new TypeError('Invalid URL: ' + input);
      const b = new URL(base);
      let path = b.pathname, search = b.search, hash = '';
      const r = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(input);
      if (input.startsWith('//')) return new URL(b.protocol + input);
      if (r[1]) { path = r[1].startsWith('/') ? r[1] : path.replace(/[^/]*$/, '') + r[1]; search = r[2] || ''; }
      else if (r[2] !== undefined) search = r[2];
      hash = r[3] || '';
      m = urlPattern.exec(b.protocol + '//' + (b.username ? b.username + (b.password ? ':' + b.password : '') + '@' : '') + b.host + normalizePath(path) + search + hash);
    }
    this.protocol = m[1].toLowerCase(); this.username = m[2] || ''; this.password = m[3] || '';
    this.hostname = (m[4] || '').toLowerCase(); this.port = m[5] && m[5] !== defaultPorts[this.protocol] ? m[5] : '';
    this.pathname = m[4] !== undefined ? normalizePath(m[6] || '/') : m[6];
    this._search = m[7] && m[7] !== '?' ? m[7] : ''; this.hash = m[8] && m[8] !== '#' ? m[8] : '';
  }
  get search() { return this._search; }
  set search(v) { v = String(v); this._search = v && v !== '?' ? (v[0] === '?' ? v : '?' + v) : ''; this._params = undefined; }
  get searchParams() { if (!this._params) { this._params = new URLSearchParams(this._search); this._params._url = this; } return this._params; }
  get host() { return this.hostname + (this.port ? ':' + this.port : ''); }
  get origin() { return this.protocol + '//' + this.host; }
  get href() { return this.protocol + (this.hostname || this.protocol === 'file:' ? '//' + (this.username ? this.username + (this.password ? ':' + this.password : '') + '@' : '') + this.host : '') + this.pathname + this.search + this.hash; }
  toString() { return this.href; }
  toJSON() { return this.href; }
};

// ---- CommonJS loader over the function's files (Lambda's /var/task).
const taskRoot = '/var/task';
let files = {};
const moduleCache = new Map();
function joinPath(dir, request) { return normalizePath((request.startsWith('/') ? '' : dir + '/') + request).replace(/^\/+/, ''); }
function resolveModule(dir, request) {
  const relative = request.startsWith('./') || request.startsWith('../') || request.startsWith('/');
  const bases = relative ? [joinPath(dir, request)] : [];
  if (!relative) for (let d = dir; ; d = d.replace(/\/?[^/]*$/, '')) { bases.push(joinPath(d, 'node_modules/' + request)); if (!d) break; }
  for (const base of bases) {
    for (const candidate of [base, base + '.js', base + '.cjs', base + '.json']) if (Object.prototype.hasOwnProperty.call(files, candidate)) return candidate;
    const pkg = files[base + '/package.json'];
    if (pkg) { try { const main = JSON.parse(pkg).main; if (main) { const r = resolveModule(base, './' + main.replace(/^\.\//, '')); if (r) return r; } } catch (e) {} }
    for (const index of ['/index.js', '/index.cjs', '/index.json']) if (Object.prototype.hasOwnProperty.call(files, base + index)) return base + index;
  }
  return null;
}
function makeRequire(dir) {
  return function require(request) {
    const path = resolveModule(dir, String(request));
    if (path === null) { const e = new Error("Cannot find module '" + request + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
    return loadModule(path).exports;
  };
}
function loadModule(path) {
  const cached = moduleCache.get(path);
  if (cached) return cached;
  const module = { id: path, filename: taskRoot + '/' + path, loaded: false, exports: {} };
  moduleCache.set(path, module);
  if (path.endsWith('.json')) { module.exports = JSON.parse(files[path]); module.loaded = true; return module; }
  const dir = path.includes('/') ? path.replace(/\/[^/]*$/, '') : '';
  const wrapper = (0, eval)('(function (exports, require, module, __filename, __dirname) {' + files[path] + '\n})');
  wrapper.call(module.exports, module.exports, makeRequire(dir), module, module.filename, dir ? taskRoot + '/' + dir : taskRoot);
  module.loaded = true;
  return module;
}

// ---- invocation: Lambda's handler contract (async, promise or callback).
let handler = null;
function setHandler(namespace, exportName, handlerName) {
  const fn = namespace == null ? undefined : namespace[exportName];
  if (typeof fn !== 'function') { const e = new Error(handlerName + ' is undefined or not exported'); e.name = 'Runtime.HandlerNotFound'; throw e; }
  handler = fn;
}
function errorShape(error) {
  if (error instanceof Error || (error && typeof error === 'object' && 'message' in error)) {
    const name = String(error.name || 'Error'), message = String(error.message);
    const stack = typeof error.stack === 'string' ? error.stack.split('\n').filter((l) => l.trim() && !l.includes('cairn:prelude.js') && !l.includes('(native)')).slice(0, 50) : [];
    return { errorType: name, errorMessage: message, trace: [name + ': ' + message].concat(stack) };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}
function settle(ok, value) {
  if (!ok) return JSON.stringify({ ok: false, error: errorShape(value) });
  try { return JSON.stringify({ ok: true, json: value === undefined ? 'null' : JSON.stringify(value) }); }
  catch (e) { return JSON.stringify({ ok: false, error: errorShape(e) }); }
}
function invoke(eventJson, contextJson) {
  const info = JSON.parse(contextJson);
  const event = JSON.parse(eventJson);
  const context = Object.assign({}, info.fields, {
    requestId: info.requestId, awsRequestId: info.requestId, functionName: info.functionName,
    memoryLimitInMB: String(info.memoryLimitInMB), callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis() { return Math.max(0, info.deadlineMs - Date.now()); },
  });
  uncaught = undefined;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok, value) => { if (!done) { done = true; resolve(settle(ok, value)); } };
    try {
      const callback = (error, value) => (error ? finish(false, error) : finish(true, value));
      const result = handler.length >= 3 ? handler(event, context, callback) : handler(event, context);
      if (result && typeof result.then === 'function') result.then((v) => finish(true, v), (e) => finish(false, e));
      else if (handler.length < 3) finish(true, result);
    } catch (error) { finish(false, error); }
  });
}
function takeUncaught() { const e = uncaught; uncaught = undefined; return e === undefined ? '' : JSON.stringify(errorShape(e)); }
function errorJson(error) { return JSON.stringify(errorShape(error)); }

return {
  reseed, nextTimerDelay, runDueTimers, takeUncaught, errorJson, setHandler, invoke,
  clearTimers() { timers.clear(); },
  loadCommonJs(filesJson, path, exportName, handlerName) {
    files = JSON.parse(filesJson);
    setHandler(loadModule(path).exports, exportName, handlerName);
  },
};
})`;
