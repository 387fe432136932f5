// Requests the node shell is waiting to answer: writes by request id until their entry applies,
// reads by ReadIndex context until the read point is confirmed and applied (thesis §6.4 steps
// 3–4). Every waiter has a deadline; the shell fails them all when it stops leading, and the
// client retries elsewhere with the same request id (safe: §6.3 deduplication).
import { assert } from '../core/index.js';
import { ConfigError } from './errors.js';

export const configWaitersMax = 16_384;

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Waiters<T> {
  private readonly waiting = new Map<string, Waiter<T>[]>();
  private count = 0;

  /** Waits for `key` to settle, at most timeoutMs; several callers may wait on one key. */
  wait(key: string, timeoutMs: number): Promise<T> {
    if (this.count >= configWaitersMax) return Promise.reject(new ConfigError('Unavailable', 'too many requests waiting'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(key, waiter);
        reject(new ConfigError('Timeout', `request ${key} did not complete in ${timeoutMs} ms; retry with the same id`));
      }, timeoutMs);
      const waiter: Waiter<T> = { resolve, reject, timer };
      const list = this.waiting.get(key) ?? [];
      list.push(waiter);
      this.waiting.set(key, list);
      this.count++;
    });
  }

  has(key: string): boolean {
    return this.waiting.has(key);
  }

  resolve(key: string, value: T): void {
    for (const waiter of this.take(key)) waiter.resolve(value);
  }

  rejectAll(error: Error): void {
    for (const key of [...this.waiting.keys()]) for (const waiter of this.take(key)) waiter.reject(error);
    assert(this.count === 0, 'no waiter left after rejectAll');
  }

  size(): number {
    return this.count;
  }

  private take(key: string): Waiter<T>[] {
    const list = this.waiting.get(key) ?? [];
    this.waiting.delete(key);
    this.count -= list.length;
    for (const waiter of list) clearTimeout(waiter.timer);
    return list;
  }

  private remove(key: string, waiter: Waiter<T>): void {
    const list = this.waiting.get(key);
    if (!list) return;
    const rest = list.filter((other) => other !== waiter);
    this.count -= list.length - rest.length;
    if (rest.length === 0) this.waiting.delete(key);
    else this.waiting.set(key, rest);
  }
}
