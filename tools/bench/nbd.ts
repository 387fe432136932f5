// Bench for blockstore/nbd/: our NBD server over MemoryBlockDevice against `nbdkit memory 1G`,
// both measured in this run by the same clients (ARCHITECTURE.md: "measured against a named
// reference in the same run"). Sequential 1 MiB: nbdcopy (libnbd) over one connection, writing
// 256 MiB of pseudo-random bytes (never zeros: LIMITS.md) twice — the first write after start,
// then other bytes over it (the sustained rate) — then reading them back to `null:`.
// Random 4 KiB at queue depth 32: fio's nbd engine (libnbd), over the region just written so
// reads hit data rather than holes. measureNbdTarget(uri) is exported for other rows (volumes vs
// `nbdkit file`). Clients and nbdkit are child processes, killed when done.
import { type ChildProcess, spawn } from 'node:child_process';
import { runChild } from './child.js';
import { createCipheriv } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemoryBlockDevice, MemoryExportRegistry, startNbdServer } from '../../blockstore/nbd/index.js';
import { type BenchRow, formatRows } from './report.js';

const mebibyte = 1 << 20;
const sequentialBytes = 256 * mebibyte;
const randomRegionBytes = 256 * mebibyte;
/** More than one measured write allocates (256 MiB of data, its metadata, the server's buffers). */
const recycledBytes = 1024 * mebibyte;
/** Random phases of the in-memory device: nothing to reach a steady state. */
const randomSeconds = 3;

export interface NbdTargetFigures {
  /** The target's first 256 MiB written after it started: one-time costs (JIT, first files) in. */
  seqWriteFirstMBps: number;
  /** The next 256 MiB (other data, over the first): the sustained rate. */
  seqWriteMBps: number;
  seqReadMBps: number;
  randReadIops: number;
  randWriteIops: number;
  /** The worse of the random 4 KiB read and write completion-latency p99s, in ms. */
  p99Ms: number;
}

/** fio JSON → IOPS and p99 completion latency (ms) of the one job. */
async function fioRandom(uri: string, mode: 'randread' | 'randwrite', seconds: number): Promise<{ iops: number; p99Ms: number }> {
  const result = await runChild('fio', ['--name=nbd', '--ioengine=nbd', `--uri=${uri}`, `--rw=${mode}`, '--bs=4k', '--iodepth=32',
    `--size=${randomRegionBytes}`, `--runtime=${seconds}`, '--time_based', '--randrepeat=1', '--output-format=json'], (seconds + 30) * 1000);
  const job = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))).jobs[0];
  const side = mode === 'randread' ? job.read : job.write;
  const percentiles = (side.clat_ns?.percentile ?? {}) as Record<string, number>;
  return { iops: side.iops as number, p99Ms: (percentiles['99.000000'] ?? 0) / 1e6 };
}

/**
 * Writes and deletes a file of recycledBytes, so the write measured next takes its page cache (and
 * anonymous memory) from pages freed a moment ago. Why: this VM's balloon hands freed guest pages
 * back to the host ~2 s after they are freed, and the first touch of such a page costs ~3 µs of
 * kernel time (a new 1 GiB file: ~3.1–3.7 s of system time; the same right after deleting another:
 * ~0.25–0.5 s). Without this, whichever target ran right after another deleted its files would
 * write into warm pages and the first would pay for fresh ones: the order, not the software,
 * would decide the ratio. Every target gets it before each measured write.
 */
function recyclePages(directory: string): void {
  const file = join(directory, 'recycle.tmp');
  const piece = Buffer.alloc(mebibyte, 1);
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < recycledBytes; written += piece.length) writeSync(fd, piece);
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
}

/** Measures one NBD target (an export of at least 256 MiB that may be overwritten). Targets with
 * background work (a volume's fold) need `randomSeconds` long enough to include it. */
export async function measureNbdTarget(uri: string, options: { randomSeconds: number } = { randomSeconds }): Promise<NbdTargetFigures> {
  const directory = mkdtempSync(join(tmpdir(), 'cairn-bench-nbd-'));
  try {
    // Two sources of different pseudo-random bytes: the second write must not dedup the first.
    const sources = [0x5d, 0x5e].map((fill, index) => {
      const source = join(directory, `source-${index}.img`);
      writeFileSync(source, createCipheriv('aes-128-ctr', Buffer.alloc(16, fill), Buffer.alloc(16)).update(Buffer.alloc(sequentialBytes)));
      readFileSync(source); // warm the page cache so the write measures NBD, not the disk
      return source;
    });
    const copy = ['--connections=1', `--request-size=${mebibyte}`, '--sparse=0', '--no-extents'];
    recyclePages(directory);
    const first = await runChild('nbdcopy', [...copy, '--flush', sources[0], uri]);
    recyclePages(directory);
    const written = await runChild('nbdcopy', [...copy, '--flush', sources[1], uri]);
    const read = await runChild('nbdcopy', [...copy, uri, 'null:']);
    const randomRead = await fioRandom(uri, 'randread', options.randomSeconds);
    const randomWrite = await fioRandom(uri, 'randwrite', options.randomSeconds);
    return {
      seqWriteFirstMBps: sequentialBytes / 1e6 / first.seconds,
      seqWriteMBps: sequentialBytes / 1e6 / written.seconds,
      seqReadMBps: sequentialBytes / 1e6 / read.seconds,
      randReadIops: randomRead.iops,
      randWriteIops: randomWrite.iops,
      p99Ms: Math.max(randomRead.p99Ms, randomWrite.p99Ms),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

export async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`nbdkit exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nbdkit did not listen on ${port}`);
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

export async function run(): Promise<BenchRow[]> {
  const server = await startNbdServer({
    host: '127.0.0.1', port: 0, registry: new MemoryExportRegistry({ bench: new MemoryBlockDevice(1024 * mebibyte) }),
  });
  const port = await freePort();
  const nbdkit = spawn('nbdkit', ['-f', '-p', String(port), '-i', '127.0.0.1', 'memory', '1G'], { stdio: 'ignore' });
  try {
    await waitForPort(port, nbdkit);
    const ours = await measureNbdTarget(`nbd://127.0.0.1:${server.port}/bench`);
    const oursRss = process.memoryUsage().rss / mebibyte;
    const reference = await measureNbdTarget(`nbd://127.0.0.1:${port}/`);
    const referenceRss = rssMiB(nbdkit.pid!);
    const referenceName = 'nbdkit memory 1G';
    const row = (name: string, figure: number, referenceFigure: number, unit: string, higherIsBetter: boolean, note?: string): BenchRow =>
      ({ name, figure, referenceFigure, unit, referenceName, higherIsBetter, note });
    return [
      row('nbd seq write 1 MiB (nbdcopy, 1 conn, MemoryBlockDevice)', ours.seqWriteMBps, reference.seqWriteMBps, 'MB/s', true, `256 MiB random data + flush, after 256 MiB of other data; the first: ${ours.seqWriteFirstMBps.toFixed(0)} vs ${reference.seqWriteFirstMBps.toFixed(0)}`),
      row('nbd seq read 1 MiB (nbdcopy, 1 conn, MemoryBlockDevice)', ours.seqReadMBps, reference.seqReadMBps, 'MB/s', true, 'to null:'),
      row('nbd rand read 4 KiB QD32 (fio nbd)', ours.randReadIops, reference.randReadIops, 'ops/s', true, `${randomSeconds} s over 256 MiB`),
      row('nbd rand write 4 KiB QD32 (fio nbd)', ours.randWriteIops, reference.randWriteIops, 'ops/s', true, `${randomSeconds} s over 256 MiB`),
      row('nbd rand 4 KiB QD32 p99 latency', ours.p99Ms, reference.p99Ms, 'ms p99', false, 'worse of read and write'),
      row('nbd server RSS after the runs', oursRss, referenceRss, 'MiB RSS', false, 'ours is the whole bench process'),
    ];
  } finally {
    nbdkit.kill('SIGKILL');
    await server.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const rows = await run();
  console.log(formatRows(rows));
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
