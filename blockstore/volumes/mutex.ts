// A FIFO async mutex: metadata changes of all volumes (fold commits, snapshots, clones, deletes)
// go through one, so each sees the layer records the previous one left.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(body: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => { release = resolve; });
    await previous;
    try {
      return await body();
    } finally {
      release();
    }
  }
}
