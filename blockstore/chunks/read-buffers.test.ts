// ReadBuffers: a released buffer is the next one taken (that is the point), reads larger than a
// buffer, or past pooledMax in flight, get a fresh one that is never pooled, and a second
// release of one lease is a caller bug.
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../dedup/errors.js';
import { ReadBuffers } from './read-buffers.js';

describe('ReadBuffers', () => {
  it('hands a released buffer out again, and a held one never', () => {
    const buffers = new ReadBuffers(1024, 4);
    const first = buffers.take(100);
    const second = buffers.take(1024);
    expect(first.value.length).toBeGreaterThanOrEqual(100);
    expect(second.value.buffer).not.toBe(first.value.buffer);
    first.release();
    const third = buffers.take(500);
    expect(third.value.buffer).toBe(first.value.buffer);
    expect(third.value.buffer).not.toBe(second.value.buffer);
  });

  it('a read larger than a buffer gets its own, which is not pooled', () => {
    const buffers = new ReadBuffers(1024, 4);
    const large = buffers.take(4096);
    expect(large.value.length).toBe(4096);
    large.release();
    const next = buffers.take(10);
    expect(next.value.buffer).not.toBe(large.value.buffer);
    expect(next.value.length).toBe(1024);
  });

  it('pools at most pooledMax buffers; reads past them get their own size, not pooled', () => {
    const buffers = new ReadBuffers(64, 2);
    const taken = [buffers.take(64), buffers.take(64), buffers.take(10)];
    expect(taken.map((lease) => lease.value.length)).toEqual([64, 64, 10]);
    taken.forEach((lease) => lease.release());
    const again = [buffers.take(64), buffers.take(64), buffers.take(64)];
    const reused = again.filter((lease) => taken.some((old) => old.value === lease.value));
    expect(reused).toHaveLength(2);
  });

  it('a second release of one lease is an AssertionError', () => {
    const lease = new ReadBuffers(64, 2).take(8);
    lease.release();
    expect(() => lease.release()).toThrow(AssertionError);
  });
});
