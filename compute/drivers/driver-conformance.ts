// The one suite every MicroVmDriver runs (STYLE.md §4). Method: black-box, through the interface
// only; each test creates its own environments and destroys them, so the order does not matter.
// A driver's test calls driverConformance() with a factory; timing bounds are parameters so a
// TCG-emulated VM can widen them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Environment, FunctionCode, InvokeOutcome, MicroVmDriver } from './driver.js';

export interface ConformanceOptions {
  timeoutSlackMs: number;      // how late after its deadline the caller may hear of a stopped loop
  engineTimeoutSlackMs: number; // how late the machine itself may stop it (durationMs it reports)
  memoryMb: number;       // limits used by the suite
}

const counterFunction: FunctionCode = {
  handler: 'index.handler',
  files: {
    'index.js': `
      let counter = 0;
      const initRandom = Math.random();
      counter = 41;
      exports.handler = async (event, context) => {
        counter++;
        if (event.setGlobal) globalThis.marker = event.setGlobal;
        return { counter, marker: globalThis.marker ?? null, random: Math.random(), initRandom,
          requestId: context.requestId, functionName: context.functionName,
          memory: context.memoryLimitInMB, remainingOk: context.getRemainingTimeInMillis() > 0 };
      };`,
  },
};

export function driverConformance(name: string, startDriver: () => Promise<MicroVmDriver>, options: ConformanceOptions): void {
  describe(`${name} driver conformance`, () => {
    let driver: MicroVmDriver;
    const live = new Set<Environment>();
    beforeAll(async () => { driver = await startDriver(); });
    afterAll(async () => {
      for (const environment of live) await environment.destroy();
      await driver?.close();
    });

    const limits = { memoryMb: options.memoryMb };
    async function loaded(code: FunctionCode): Promise<Environment> {
      const environment = await driver.create(limits);
      live.add(environment);
      const outcome = await environment.load(code, { timeoutMs: 5000 });
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true });
      return environment;
    }
    async function restored(image: Parameters<MicroVmDriver['restore']>[0]): Promise<Environment> {
      const environment = await driver.restore(image);
      live.add(environment);
      return environment;
    }
    async function done(...environments: Environment[]): Promise<void> {
      for (const environment of environments) { await environment.destroy(); live.delete(environment); }
    }
    function invoke(environment: Environment, event: unknown, timeoutMs = 3000): Promise<InvokeOutcome> {
      const requestId = randomUUID();
      return environment.invoke({ eventJson: JSON.stringify(event), timeoutMs, context: { requestId, functionName: 'conformance', memoryLimitInMB: limits.memoryMb, deadlineMs: Date.now() + timeoutMs } });
    }
    function result(outcome: InvokeOutcome): any {
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true });
      return outcome.ok ? JSON.parse(outcome.resultJson) : undefined;
    }

    it('load, init and invoke a CommonJS handler with Lambda context', async () => {
      const environment = await loaded(counterFunction);
      const value = result(await invoke(environment, {}));
      expect(value).toMatchObject({ counter: 42, functionName: 'conformance', memory: String(limits.memoryMb), remainingOk: true });
      expect(result(await invoke(environment, {})).counter).toBe(43);
      await done(environment);
    });

    it('ES module handlers: export const and export async function', async () => {
      const constant = await loaded({ handler: 'app.handler', files: { 'app.mjs': `import { twice } from './lib.mjs';\nexport const handler = async (event) => twice(event.n);`, 'lib.mjs': `export const twice = (n) => n * 2;` } });
      expect(result(await invoke(constant, { n: 21 }))).toBe(42);
      const declared = await loaded({ handler: 'index.main', files: { 'index.js': `export async function main(event) { return 'hi ' + event.who; }` } });
      expect(result(await invoke(declared, { who: 'you' }))).toBe('hi you');
      await done(constant, declared);
    });

    it('snapshot then two restores: independent, top-level state kept', async () => {
      const source = await loaded(counterFunction);
      const image = await source.snapshot();
      expect(image.buildHash).toBe(driver.buildHash);
      const first = await restored(image);
      const second = await restored(image);
      expect(result(await invoke(first, {})).counter).toBe(42);
      expect(result(await invoke(first, {})).counter).toBe(43);
      expect(result(await invoke(second, {})).counter).toBe(42);
      expect(result(await invoke(source, {})).counter).toBe(42);
      const again = await restored(await first.snapshot()); // a restored environment snapshots again
      expect(result(await invoke(again, {})).counter).toBe(44);
      await done(source, first, second, again);
    });

    it('single use: restoring after every invoke forgets globals set by a call', async () => {
      const source = await loaded(counterFunction);
      const image = await source.snapshot();
      const one = await restored(image);
      expect(result(await invoke(one, { setGlobal: 'secret' })).marker).toBe('secret');
      await done(one);
      const two = await restored(image);
      const value = result(await invoke(two, {}));
      expect(value.marker).toBeNull();
      expect(value.counter).toBe(42);
      await done(source, two);
    });

    it('Math.random differs across two restores of one image; init-time values are frozen', async () => {
      const source = await loaded(counterFunction);
      const image = await source.snapshot();
      const [a, b] = [await restored(image), await restored(image)];
      const [ra, rb] = [result(await invoke(a, {})), result(await invoke(b, {}))];
      expect(ra.random).not.toBe(rb.random);
      expect(ra.initRandom).toBe(rb.initRandom);
      await done(source, a, b);
    });

    it('an infinite loop times out near its deadline and other environments keep answering', async () => {
      const looping = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = async (e) => { if (e.loop) while (true) {} return 'alive'; };` } });
      const neighbour = await loaded(counterFunction);
      const timeoutMs = 300;
      const started = performance.now();
      const pending = invoke(looping, { loop: true }, timeoutMs);
      const neighbourStarted = performance.now();
      expect(result(await invoke(neighbour, {})).counter).toBe(42);
      expect(performance.now() - neighbourStarted).toBeLessThan(timeoutMs);
      const outcome = await pending;
      const elapsed = performance.now() - started;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error.errorType).toBe('Sandbox.Timedout');
        expect(outcome.error.errorMessage).toMatch(/Task timed out after 0\.30 seconds/);
      }
      expect(outcome.logs).toMatch(/Task timed out after 0\.30 seconds/);
      expect(outcome.durationMs).toBeLessThan(timeoutMs + options.engineTimeoutSlackMs);
      expect(elapsed, `driver-reported ${outcome.durationMs} ms`).toBeLessThan(timeoutMs + options.timeoutSlackMs);
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
      await done(looping, neighbour);
    });

    it('memory exhaustion fails the invocation cleanly', async () => {
      const hog = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = async () => { const keep = []; while (true) keep.push(new Array(100000).fill(7)); };` } });
      const outcome = await invoke(hog, {}, 20_000);
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.error.errorType).toBe('Runtime.OutOfMemory');
      expect(outcome.environment).toBe('discard');
      await done(hog);
    });

    it('a syntax error fails the load with Runtime.UserCodeSyntaxError', async () => {
      const environment = await driver.create(limits);
      live.add(environment);
      const outcome = await environment.load({ handler: 'index.handler', files: { 'index.js': 'exports.handler = async () => { return 1' } }, { timeoutMs: 3000 });
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error.errorType).toBe('Runtime.UserCodeSyntaxError');
        expect(outcome.error.errorMessage).toMatch(/^SyntaxError: /);
      }
      const missing = await driver.create(limits);
      live.add(missing);
      const notFound = await missing.load({ handler: 'index.nope', files: { 'index.js': 'exports.handler = 1' } }, { timeoutMs: 3000 });
      expect(notFound).toMatchObject({ ok: false, error: { errorType: 'Runtime.HandlerNotFound' } });
      await done(environment, missing);
    });

    it('a throwing handler answers Lambda\'s error shape and stays usable', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = async (e) => { if (e.fail) { const error = new TypeError('bad input'); throw error; } return 'fine'; };` } });
      const outcome = await invoke(environment, { fail: true });
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.error).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input' });
        expect(outcome.error.trace[0]).toBe('TypeError: bad input');
      }
      expect(outcome.environment).toBe('reusable');
      expect(result(await invoke(environment, {}))).toBe('fine');
      await done(environment);
    });

    it('async handler awaiting setTimeout, and callback-style handlers', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = async (e) => { const t0 = Date.now(); await new Promise((r) => setTimeout(r, 30)); return Date.now() - t0; };` } });
      expect(result(await invoke(environment, {}))).toBeGreaterThanOrEqual(29);
      const callback = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = (e, context, done) => { setTimeout(() => done(null, { got: e.x }), 5); };` } });
      expect(result(await invoke(callback, { x: 1 }))).toEqual({ got: 1 });
      await done(environment, callback);
    });

    it('console output is captured in Lambda\'s line format', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': `console.log('at init');\nexports.handler = async () => { console.log('hello %s', 'world', { a: 1 }); console.error(new Error('oops')); return null; };` } });
      const outcome = await invoke(environment, {});
      expect(outcome.logs).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\thello world \{"a":1\}\n/);
      expect(outcome.logs).toMatch(/\tERROR\tError: oops/);
      expect(outcome.logs).not.toMatch(/at init/);
      await done(environment);
    });

    it('unbounded recursion fails the invocation and leaves the environment usable', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': 'const f = (n) => f(n + 1) + 1;\nexports.handler = async (e) => (e.deep ? f(0) : "ok");' } });
      const outcome = await invoke(environment, { deep: true });
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.error.trace.length).toBeLessThanOrEqual(51);
      expect(result(await invoke(environment, {}))).toBe('ok');
      await done(environment);
    });

    it('guest has no host process, filesystem or network', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': `exports.handler = async () => [typeof process, typeof fetch, typeof XMLHttpRequest, typeof std, typeof os, typeof globalThis.require];` } });
      expect(result(await invoke(environment, {}))).toEqual(['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined']);
      await done(environment);
    });

    it('resizeMemory changes the limit in place; one call at a time per environment', async () => {
      const environment = await loaded({ handler: 'index.handler', files: { 'index.js': `let n = 0; exports.handler = async () => { await new Promise((r) => setTimeout(r, 50)); return ++n; };` } });
      await environment.resizeMemory(limits.memoryMb - 8);
      expect(result(await invoke(environment, {}))).toBe(1);
      const first = invoke(environment, {});
      await expect(invoke(environment, {})).rejects.toMatchObject({ code: 'EnvironmentBusy' });
      await first;
      await done(environment);
    });

    it('importImage rejects bytes that are not an image', () => {
      expect(() => driver.importImage(new Uint8Array(100))).toThrow(expect.objectContaining({ code: 'ImageCorrupt' }));
    });
  });
}
