// Bench for blockstore/chunks/: the segment store on a real LevelDB, beside plain-file references
// measured in the same run on the same file system (LIMITS.md: one fsync per small op caps near
// 6k/s; sequential write + fsync ~520–670 MB/s).
// - put throughput: 256 MiB of 64 KiB chunks, 32 puts in flight (a streaming writer's window),
//   against writing the same bytes to one plain file and fsyncing once;
// - small ops: 4 KiB put + commit (count + object metadata) at 32 concurrent writers, against a
//   loop of one 4 KiB append + fdatasync per op on a plain file;
// - get: verified 64 KiB reads at 32 in flight, against positional reads of a plain file.
// Data: random bytes (never zeros), ids computed before timing (dedup/ computes them upstream).
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chunkIdOf, type ChunkId } from '../../blockstore/chunks/index.js';
import { openTempStore } from '../../blockstore/chunks/temp-store.js';
import { type BenchRow, formatRows } from './report.js';

const bigChunkBytes = 64 << 10;
const bigTotalBytes = 256 << 20;
const smallChunkBytes = 4 << 10;
const concurrency = 32;
const smallOpsSeconds = 3;
const referenceLoopSeconds = 2;

async function inWindows<T>(items: readonly T[], window: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

async function plainFileWriteMBps(directory: string, data: Buffer): Promise<number> {
  const handle = await open(join(directory, 'plain-write'), 'w');
  const started = performance.now();
  for (let offset = 0; offset < data.length; offset += 8 << 20) await handle.write(data, offset, Math.min(8 << 20, data.length - offset), offset);
  await handle.sync();
  const seconds = (performance.now() - started) / 1000;
  await handle.close();
  return data.length / 1e6 / seconds;
}

async function plainFileAppendSyncOps(directory: string): Promise<number> {
  const handle = await open(join(directory, 'plain-append'), 'w');
  const block = randomBytes(smallChunkBytes);
  let ops = 0;
  let position = 0;
  const started = performance.now();
  while (performance.now() - started < referenceLoopSeconds * 1000) {
    await handle.write(block, 0, block.length, position);
    await handle.datasync();
    position += block.length;
    ops++;
  }
  const seconds = (performance.now() - started) / 1000;
  await handle.close();
  return ops / seconds;
}

async function plainFileReadMBps(directory: string, data: Buffer, count: number): Promise<number> {
  const handle = await open(join(directory, 'plain-write'), 'r');
  const offsets = Array.from({ length: count }, (_, index) => ((index * 7919) % (data.length / bigChunkBytes)) * bigChunkBytes);
  const started = performance.now();
  await inWindows(offsets, concurrency, async (offset) => {
    const buffer = Buffer.allocUnsafe(bigChunkBytes);
    await handle.read(buffer, 0, bigChunkBytes, offset);
  });
  const seconds = (performance.now() - started) / 1000;
  await handle.close();
  return (count * bigChunkBytes) / 1e6 / seconds;
}

export async function run(): Promise<BenchRow[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'cairn-bench-chunks-'));
  const temp = await openTempStore(undefined, join(scratch, 'store'));
  const rows: BenchRow[] = [];
  try {
    const data = randomBytes(bigTotalBytes);
    const chunks: Array<{ id: ChunkId; bytes: Buffer }> = [];
    for (let offset = 0; offset < data.length; offset += bigChunkBytes) {
      const bytes = data.subarray(offset, offset + bigChunkBytes);
      chunks.push({ id: chunkIdOf(bytes), bytes });
    }
    const referenceWrite = await plainFileWriteMBps(scratch, data);
    const groupsBefore = temp.store.groupsCommitted;
    let started = performance.now();
    await inWindows(chunks, concurrency, (chunk) => temp.store.put(chunk.id, chunk.bytes));
    const putMBps = data.length / 1e6 / ((performance.now() - started) / 1000);
    rows.push({
      name: 'chunk put 64 KiB, 256 MiB, 32 in flight', figure: putMBps, unit: 'MB/s',
      referenceName: 'plain file write + one fsync', referenceFigure: referenceWrite, higherIsBetter: true,
      note: `${temp.store.groupsCommitted - groupsBefore} group commits; includes sha256 verify`,
    });

    const readCount = 2048;
    const referenceRead = await plainFileReadMBps(scratch, data, readCount);
    started = performance.now();
    await inWindows(Array.from({ length: readCount }, (_, index) => chunks[(index * 7919) % chunks.length]), concurrency, async (chunk) => {
      await temp.store.get(chunk.id);
    });
    const getMBps = (readCount * bigChunkBytes) / 1e6 / ((performance.now() - started) / 1000);
    rows.push({
      name: 'chunk get 64 KiB verified, 32 in flight', figure: getMBps, unit: 'MB/s',
      referenceName: 'plain file pread 64 KiB', referenceFigure: referenceRead, higherIsBetter: true,
      note: 'page cache; includes index lookup + sha256',
    });

    const referenceOps = await plainFileAppendSyncOps(scratch);
    let ops = 0;
    let serial = 0;
    started = performance.now();
    const deadline = started + smallOpsSeconds * 1000;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const bytes = randomBytes(smallChunkBytes);
        const id = chunkIdOf(bytes);
        const name = `o/bench/${serial++}`;
        await temp.store.put(id, bytes);
        await temp.store.commit(new Map([[id, 1]]), [{ type: 'put', key: name, value: Buffer.from(id) }]);
        ops++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const smallOps = ops / ((performance.now() - started) / 1000);
    rows.push({
      name: 'chunk put + commit 4 KiB, 32 concurrent', figure: smallOps, unit: 'ops/s',
      referenceName: '4 KiB append + fdatasync per op', referenceFigure: referenceOps, higherIsBetter: true,
      note: 'each op: segment fsync + 2 LevelDB syncs, shared by group commit',
    });
  } finally {
    await temp.store.close();
    await temp.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatRows(await run()));
}
