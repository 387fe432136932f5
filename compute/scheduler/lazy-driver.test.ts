// LazyDriver: the driver starts on the first get(), once for concurrent callers, again after a
// failed start, never for a node that only closes; close waits for a start under way.
import { describe, expect, it } from 'vitest';
import type { MicroVmDriver } from '../drivers/index.js';
import { LazyDriver } from './lazy-driver.js';

function fakeDriver(buildHash: string): MicroVmDriver & { closes: number } {
  const driver = {
    kind: 'wasm' as const, buildHash, closes: 0,
    create: () => Promise.reject(new Error('unused')), restore: () => Promise.reject(new Error('unused')),
    warm: async () => {}, exportImage: () => new Uint8Array(), importImage: () => { throw new Error('unused'); },
    close: async () => { driver.closes++; },
  };
  return driver;
}

describe('LazyDriver', () => {
  it('starts nothing until get(), and one start serves concurrent callers', async () => {
    let starts = 0;
    const real = fakeDriver('b1');
    const lazy = new LazyDriver('b1', async () => { starts++; return real; });
    expect(starts).toBe(0);
    expect(lazy.started).toBe(false);
    const [first, second] = await Promise.all([lazy.get(), lazy.get()]);
    expect(first).toBe(real);
    expect(second).toBe(real);
    expect(starts).toBe(1);
    await lazy.close();
    expect(real.closes).toBe(1);
  });

  it('retries a failed start on the next get()', async () => {
    let starts = 0;
    const lazy = new LazyDriver('b1', async () => { if (++starts === 1) throw new Error('worker failed to boot'); return fakeDriver('b1'); });
    await expect(lazy.get()).rejects.toThrow('worker failed to boot');
    await expect(lazy.get()).resolves.toMatchObject({ buildHash: 'b1' });
    expect(starts).toBe(2);
  });

  it('close without a start starts nothing; get() after close is refused', async () => {
    let starts = 0;
    const lazy = new LazyDriver('b1', async () => { starts++; return fakeDriver('b1'); });
    await lazy.close();
    await expect(lazy.get()).rejects.toMatchObject({ code: 'ServiceException' });
    expect(starts).toBe(0);
  });

  it('close during a start closes the driver once it is up', async () => {
    const real = fakeDriver('b1');
    let release!: () => void;
    const lazy = new LazyDriver('b1', () => new Promise((resolve) => { release = () => resolve(real); }));
    const pending = lazy.get();
    const closing = lazy.close();
    release();
    await pending;
    await closing;
    expect(real.closes).toBe(1);
  });

  it('refuses a driver of another build than the one snapshots were looked up by', async () => {
    const lazy = new LazyDriver('b1', async () => fakeDriver('b2'));
    await expect(lazy.get()).rejects.toThrow(/build/);
  });
});
