// Method: PayloadBuffers alone — a buffer given back is handed out again for the same size only,
// a buffer it did not mint (a view of a socket chunk) is never handed out, and what it keeps is
// capped in count and size.
import { describe, expect, it } from 'vitest';
import { nbdPayloadBufferBytesMax, nbdPayloadBuffersKeptMax } from './limits.js';
import { PayloadBuffers } from './payload-buffers.js';

describe('PayloadBuffers', () => {
  it('hands a given-back buffer out again for a payload of the same size, and only then', () => {
    const buffers = new PayloadBuffers();
    const first = buffers.take(1 << 20);
    expect(first.length).toBe(1 << 20);
    buffers.give(first);
    const other = buffers.take(4096);
    expect(other).not.toBe(first);
    expect(buffers.take(1 << 20)).toBe(first);
    expect(buffers.take(1 << 20)).not.toBe(first); // handed out once, not twice
  });

  it('never hands out a buffer it did not mint (a socket chunk view may be shared)', () => {
    const buffers = new PayloadBuffers();
    const chunk = Buffer.alloc(65536);
    const view = chunk.subarray(0, 4096);
    buffers.give(view);
    buffers.give(undefined);
    expect(buffers.take(4096)).not.toBe(view);
  });

  it('keeps at most nbdPayloadBuffersKeptMax buffers, none above nbdPayloadBufferBytesMax', () => {
    const buffers = new PayloadBuffers();
    const large = buffers.take(nbdPayloadBufferBytesMax + 512);
    buffers.give(large);
    expect(buffers.take(nbdPayloadBufferBytesMax + 512)).not.toBe(large);
    const taken = Array.from({ length: nbdPayloadBuffersKeptMax + 2 }, () => buffers.take(8192));
    for (const buffer of taken) buffers.give(buffer);
    const again = new Set(Array.from({ length: nbdPayloadBuffersKeptMax + 2 }, () => buffers.take(8192)));
    expect(taken.filter((buffer) => again.has(buffer)).length).toBe(nbdPayloadBuffersKeptMax);
  });
});
