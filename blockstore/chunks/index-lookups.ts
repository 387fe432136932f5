// Index lookups issued in one event-loop turn share one MetaStore.getMany. A PUT's seals come
// back several chunks per worker message, a GET's read-ahead asks for several chunks at once, a
// commit group and GC load hundreds: on LevelDB one get costs ~20–40 µs of main-thread CPU
// (binding call, promise, callback) and a key within a getMany ~4 µs (blockstore/meta README).
// A lookup waits at most one turn (setImmediate) for company, or none once the call is full.
import type { MetaStore } from '../meta/meta-store.js';

interface Waiter {
  resolve(value: Buffer | undefined): void;
  reject(error: unknown): void;
}

export class IndexLookups {
  private keys: string[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** getMany calls issued; tests read it to prove that lookups share calls. */
  callsIssued = 0;

  constructor(private readonly meta: MetaStore, private readonly keysPerCallMax: number) {}

  /** The value of `key` as of some moment after this call: sees every batch resolved before it. */
  get(key: string): Promise<Buffer | undefined> {
    return new Promise<Buffer | undefined>((resolve, reject) => {
      this.keys.push(key);
      this.waiters.push({ resolve, reject });
      if (this.keys.length >= this.keysPerCallMax) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushScheduled);
      }
    });
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.keys.length === 0) return;
    const keys = this.keys;
    const waiters = this.waiters;
    this.keys = [];
    this.waiters = [];
    this.callsIssued++;
    let answer: Promise<(Buffer | undefined)[]>;
    try {
      answer = this.meta.getMany(keys);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then((values) => {
      for (let index = 0; index < waiters.length; index++) waiters[index].resolve(values[index]);
    }, (error: unknown) => {
      for (const waiter of waiters) waiter.reject(error);
    });
  }
}
