// The wasm driver: the shared conformance suite through worker threads, plus what only this
// driver promises (image format, build binding, sparse images). Method: real workers, real
// QuickJS; every worker is terminated in afterAll (driver.close()).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverConformance } from '../driver-conformance.js';
import { WasmDriver } from './wasm-driver.js';
import { decodeWasmImageV1, encodeWasmImageV1 } from './image.js';
import { imagePageBytes } from '../limits.js';

// The engine stops a loop within 50 ms of its deadline; the caller hears of it after a message
// hop between threads, which on a shared 2-core box (load 15+) adds up to ~100 ms of scheduling.
driverConformance('wasm', () => WasmDriver.start({ workers: 2, poolSize: 2 }), { engineTimeoutSlackMs: 50, timeoutSlackMs: 150, memoryMb: 48 });

describe('wasm driver images', () => {
  let driver: WasmDriver;
  beforeAll(async () => { driver = await WasmDriver.start({ workers: 1, poolSize: 1 }); });
  afterAll(async () => { await driver?.close(); });

  async function imageOf(source: string) {
    const environment = await driver.create({ memoryMb: 64 });
    const outcome = await environment.load({ handler: 'index.handler', files: { 'index.js': source } }, { timeoutMs: 3000 });
    expect(outcome.ok).toBe(true);
    const image = await environment.snapshot();
    await environment.destroy();
    return image;
  }

  it('an image stores only non-zero 4 KiB pages and round-trips through encode/decode', async () => {
    const image = await imageOf('exports.handler = async () => 1;');
    expect(image.bytes.byteLength).toBeLessThan(2 * 1024 * 1024); // 16+ MiB of memory, sparse
    const decoded = decodeWasmImageV1(image.bytes, driver.buildHash);
    expect(decoded.pages.byteLength).toBe(decoded.pageIndexes.length * imagePageBytes);
    expect(decoded.header).toMatchObject({ version: 1, moduleKind: 'commonjs', handler: 'index.handler' });
    expect(Buffer.compare(encodeWasmImageV1(decoded), image.bytes)).toBe(0);
    expect(driver.importImage(driver.exportImage(image)).bytes).toBe(image.bytes);
  });

  it('an image of another engine build is rejected with ImageIncompatible', async () => {
    const image = await imageOf('exports.handler = async () => 1;');
    const decoded = decodeWasmImageV1(image.bytes, driver.buildHash);
    const foreign = encodeWasmImageV1({ ...decoded, header: { ...decoded.header, buildHash: '0'.repeat(64) } });
    expect(() => driver.importImage(foreign)).toThrow(expect.objectContaining({ code: 'ImageIncompatible' }));
    await expect(driver.restore({ driver: 'wasm', buildHash: driver.buildHash, bytes: foreign })).rejects.toMatchObject({ code: 'ImageIncompatible' });
  });

  it('restore with larger limits than the image\'s hard cap, and resize beyond the cap needs a restore', async () => {
    const image = await imageOf('exports.handler = async () => { const a = new Array(3e6).fill(1); return a.length; };');
    const small = await driver.restore(image, { limits: { memoryMb: 16 } });
    await expect(small.resizeMemory(512)).rejects.toMatchObject({ code: 'ResizeNeedsRestore' });
    const big = await driver.restore(image, { limits: { memoryMb: 256 } });
    const outcome = await big.invoke({ eventJson: '{}', timeoutMs: 5000, context: { requestId: 'r', functionName: 'f', memoryLimitInMB: 256, deadlineMs: Date.now() + 5000 } });
    expect(outcome).toMatchObject({ ok: true, resultJson: '3000000' });
    await small.destroy();
    await big.destroy();
  });
});
