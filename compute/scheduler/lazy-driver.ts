// Starts the microVM driver on first use. The wasm driver's worker threads each hold a V8
// isolate and a pool of blank QuickJS instances (tens of MiB per worker): a node that serves
// only S3 or NBD should not pay for them (issue 3, server RSS), so nothing starts until a
// function is prepared, invoked or warmed.
import type { MicroVmDriver } from '../drivers/index.js';
import { assert } from '../../dedup/errors.js';
import { LambdaError } from '../errors.js';

export class LazyDriver {
  private starting: Promise<MicroVmDriver> | undefined;
  private closed = false;

  /** `buildHash` is known without starting: stored snapshots are looked up by it first. */
  constructor(readonly buildHash: string, private readonly start: () => Promise<MicroVmDriver>) {}

  /** The started driver; concurrent first callers share one start, a failed start is retried. */
  get(): Promise<MicroVmDriver> {
    if (this.closed) return Promise.reject(new LambdaError('ServiceException', 'scheduler closed'));
    if (this.starting === undefined) {
      const starting = this.start().then((driver) => {
        assert(driver.buildHash === this.buildHash, 'the started driver runs the build snapshots were looked up by');
        return driver;
      });
      this.starting = starting;
      starting.catch(() => { if (this.starting === starting) this.starting = undefined; });
    }
    return this.starting;
  }

  get started(): boolean {
    return this.starting !== undefined;
  }

  /** Closes the driver if it was ever started (waiting for a start under way). */
  async close(): Promise<void> {
    this.closed = true;
    const starting = this.starting;
    if (starting === undefined) return;
    const driver = await starting.catch(() => undefined);
    await driver?.close();
  }
}
