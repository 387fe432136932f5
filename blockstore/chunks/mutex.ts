// A FIFO async mutex: commits and GC's index switches run one at a time so that each
// read-modify-write of a chunk entry sees the previous one's result.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}
