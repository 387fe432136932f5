// SyncReadGate: small reads run on the calling thread until one is slow (it went to the disk and
// blocked the event loop); then reads go to libuv's pool for a backoff, and the gate reopens.
// Method: an injected clock, so "slow" and "backoff" are exact.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeDisk, SyncReadGate } from './disk.js';
import { diskReadLimits } from './limits.js';

describe('SyncReadGate', () => {
  it('lets small reads run synchronously, never large ones', () => {
    const gate = new SyncReadGate(() => 0, () => 0);
    expect(gate.allows(4096)).toBe(true);
    expect(gate.allows(diskReadLimits.syncReadBytesMax)).toBe(true);
    expect(gate.allows(diskReadLimits.syncReadBytesMax + 1)).toBe(false);
  });

  it('closes for the backoff after a read that went to the disk, or a very slow one, and reopens', () => {
    let now = 1000;
    let blockReads = 7;
    const gate = new SyncReadGate(() => now, () => blockReads);
    const read = (tookMs: number, fromDisk: boolean): void => {
      expect(gate.allows(4096)).toBe(true);
      const started = now;
      now += tookMs;
      if (fromDisk) blockReads += 32;
      gate.finished(started);
    };
    read(diskReadLimits.syncReadSuspectMs / 2, false); // quick: the page cache
    read(diskReadLimits.syncReadSuspectMs * 4, false); // slowish (preempted), no block input: still open
    expect(gate.allows(4096)).toBe(true);
    read(diskReadLimits.syncReadSuspectMs * 4, true); // the disk
    expect(gate.allows(4096)).toBe(false);
    now += diskReadLimits.syncReadBackoffMs - 1;
    expect(gate.allows(4096)).toBe(false);
    now += 1;
    read(diskReadLimits.syncReadSlowMs + 1, false); // blocked too long, whatever the cause
    expect(gate.allows(4096)).toBe(false);
    now += diskReadLimits.syncReadBackoffMs;
    expect(gate.allows(4096)).toBe(true);
  });

  it('counts only block input that happened since its last look', () => {
    let now = 0;
    let blockReads = 100;
    const gate = new SyncReadGate(() => now, () => blockReads);
    blockReads += 500; // some other reader, before this gate's first read
    expect(gate.allows(4096)).toBe(true);
    now += diskReadLimits.syncReadSuspectMs * 2;
    gate.finished(0);
    expect(gate.allows(4096)).toBe(true);
  });
});

describe('nodeDisk reads', () => {
  it('return the same bytes synchronously and through the pool, short only at the end of the file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cairn-disk-'));
    try {
      const bytes = Buffer.from(Array.from({ length: 3 * diskReadLimits.syncReadBytesMax }, (_, index) => (index * 7 + 3) & 0xff));
      await writeFile(join(directory, 'f'), bytes);
      const file = await nodeDisk.open(join(directory, 'f'), 'r+');
      for (const [position, length] of [[5, 4096], [100, diskReadLimits.syncReadBytesMax + 10], [bytes.length - 10, 4096]] as const) {
        const into = Buffer.alloc(length);
        const { bytesRead } = await file.read(into, 0, length, position);
        expect(bytesRead).toBe(Math.min(length, bytes.length - position));
        expect(into.subarray(0, bytesRead).equals(bytes.subarray(position, position + bytesRead))).toBe(true);
      }
      await file.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
