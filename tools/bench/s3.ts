// S3 door benchmarks against a real `cairn serve` child process on loopback:
// - one PUT / GET stream of 1 GiB of unique data vs writing (with fsync) / reading a plain file,
//   and both vs the same SDK client talking to a null server (the client's own ceiling);
// - the same GET through curl (a presigned URL) piped into md5sum vs `cat FILE | md5sum`: the
//   same consumer on both sides, and a client light enough that the row measures the server
//   (one SDK stream costs its client more CPU than the server spends, on 2 cores); likewise a
//   PUT through `curl -T` vs writing the same bytes to a file with fsync (every measured write
//   starts on equal pages: freedPagesSettleMs);
// - 4 KiB PUT and GET at 32 concurrent clients (ops/s, p99) vs one 4 KiB append+fdatasync per op;
//   the clients run in smallOpsProcesses child processes (this file, started with
//   --s3-small-ops-client): one process's SDK saturated its core while the server idled, so the
//   figure measured the client;
// - the server's peak RSS while a 5 GiB object streams in and out.
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Crc32 } from '../../gateway/checksums/crc.js';
import type { BenchRow } from './report.js';
import { runChild } from './child.js';
import { makeDataDir, removeDataDir, startCairn, type CairnProcess } from '../../test/helpers/cairn-process.js';
import { s3ClientFor } from '../../test/helpers/s3-client.js';
import { getSignedUrl } from '../../test/helpers/presign.js';

const mib = 1024 * 1024;

/** Unique data without a PRNG bottleneck: a random 64 MiB pool, each MiB stamped with its index. */
function uniqueStream(totalBytes: number, pool: Buffer): Readable {
  let offset = 0;
  return Readable.from((function* () {
    for (let index = 0; offset < totalBytes; index++) {
      const size = Math.min(mib, totalBytes - offset);
      const piece = Buffer.from(pool.subarray((index * mib) % pool.length, (index * mib) % pool.length + size));
      for (let at = 0; at + 16 <= size; at += 4096) piece.writeUInt32LE((index ^ Math.imul(at, 0x9e3779b1)) >>> 0, at);
      offset += size;
      yield piece;
    }
  })());
}

/**
 * How long freed memory takes to go back to the host. This VM's balloon takes guest pages back ~2 s
 * after they are freed, and the next touch of each costs ~3 µs of kernel time (nbd.ts
 * recyclePages has the figures). A 1 GiB PUT lasts longer than that, so the server's segments land
 * in fresh pages whatever the bench does; each measured write here, the server's and its
 * plain-file reference, therefore starts this long after anything was freed and goes to a path of
 * its own. Rewriting one path instead handed the reference the gigabyte its own truncation had
 * just freed (379–609 MB/s; 251–326 on fresh pages, the next run): the balloon, not the file system.
 */
const freedPagesSettleMs = 3000;

function settleFreedPages(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, freedPagesSettleMs));
}

async function plainFileWrite(path: string, bytes: number, pool: Buffer): Promise<number> {
  const started = performance.now();
  const handle = await open(path, 'w');
  for await (const piece of uniqueStream(bytes, pool)) await handle.write(piece as Buffer);
  await handle.sync();
  await handle.close();
  return bytes / mib / ((performance.now() - started) / 1000);
}

async function plainFileRead(path: string, bytes: number): Promise<number> {
  const started = performance.now();
  const hash = createHash('md5');
  for await (const piece of createReadStream(path, { highWaterMark: mib })) hash.update(piece as Buffer);
  return bytes / mib / ((performance.now() - started) / 1000);
}

/**
 * The client's own ceiling: the same SDK client, sending or consuming the same way, against a
 * null S3 endpoint that drains a PUT's body and streams a GET's bytes from memory with the
 * headers a GET returns (length, ETag, and the CRC32 the SDK validates by default). On this
 * 2-core machine one SDK stream costs its client more CPU than the plain-file references cost in
 * all (HTTP, aws-chunked CRC32 trailers or CRC32 validation, the md5), so these rows tell the
 * server's share from the client's.
 */
async function nullServerStreams(bytes: number, pool: Buffer): Promise<{ put: number; get: number }> {
  const crc = new Crc32();
  for await (const piece of uniqueStream(bytes, pool)) crc.update(piece as Buffer);
  const server = createServer((request, response) => {
    if (request.method === 'PUT') {
      request.resume();
      request.once('end', () => response.writeHead(200, { etag: '"null-server"' }).end());
      return;
    }
    const headers: Record<string, string | number> = {
      'content-length': bytes, 'content-type': 'application/octet-stream', etag: '"null-server"', 'last-modified': new Date(0).toUTCString(),
    };
    if (request.headers['x-amz-checksum-mode'] === 'ENABLED') {
      headers['x-amz-checksum-crc32'] = crc.digest().toString('base64');
      headers['x-amz-checksum-type'] = 'FULL_OBJECT';
    }
    response.writeHead(200, headers);
    uniqueStream(bytes, pool).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s3 = s3ClientFor({ endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'NULLSERVERKEY0000001', secretAccessKey: 'null-server-secret' });
  try {
    return { put: await timedPut(s3, 'stream', bytes, pool), get: await timedGet(s3, 'stream', bytes) };
  } finally {
    s3.destroy();
    server.close();
  }
}

async function timedPut(s3: S3Client, key: string, bytes: number, pool: Buffer): Promise<number> {
  const started = performance.now();
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: key, Body: uniqueStream(bytes, pool), ContentLength: bytes }));
  return bytes / mib / ((performance.now() - started) / 1000);
}

async function timedGet(s3: S3Client, key: string, bytes: number): Promise<number> {
  const started = performance.now();
  const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
  const hash = createHash('md5');
  for await (const piece of got.Body as AsyncIterable<Uint8Array>) hash.update(piece);
  return bytes / mib / ((performance.now() - started) / 1000);
}

/**
 * One stream's PUT through curl (a presigned URL, `curl -T FILE`), `runs` times, each of new
 * unique bytes (a repeat would be deduplicated) that are first written to a plain file with fsync:
 * that write is the run's reference, and the file is what curl uploads (from the page cache).
 * curl costs next to no CPU, so on 2 cores the row measures the server, as the curl GET row does
 * (the SDK's PUT spends ~3 CPU-s per GiB of its own on the CRC32 trailer and aws-chunked framing).
 * Each object's ETag must be the file's MD5. Medians of both.
 */
async function curlPuts(cairn: CairnProcess, scratch: string, bytes: number, runs: number): Promise<{ put: number; fileWrite: number }> {
  const puts: number[] = [];
  const writes: number[] = [];
  const paths: string[] = [];
  for (let run = 0; run < runs; run++) {
    const path = join(scratch, `curl-source-${run}`);
    paths.push(path);
    await settleFreedPages();
    writes.push(await plainFileWrite(path, bytes, randomBytes(64 * mib)));
    const key = `curl-${run}`;
    await settleFreedPages();
    const piped = await runChild('curl', ['-sSf', '-o', '/dev/null', '-T', path, await getSignedUrl(cairn, 'PUT', 'bench', key, 900)], 300_000);
    puts.push(bytes / mib / piped.seconds);
    const md5 = createHash('md5');
    for await (const piece of createReadStream(path, { highWaterMark: mib })) md5.update(piece as Buffer);
    const head = await runChild('curl', ['-sSf', '-I', await getSignedUrl(cairn, 'HEAD', 'bench', key, 900)]);
    const etag = /^etag:\s*"([0-9a-f]+)"/im.exec(head.stdout)?.[1];
    if (etag !== md5.digest('hex')) throw new Error(`PUT through curl stored other bytes: ETag ${etag}`);
  }
  for (const path of paths) await rm(path);
  return { put: percentile(puts, 0.5), fileWrite: percentile(writes, 0.5) };
}

/**
 * `source | md5sum` (source: a command's argv), `runs` times alternating between the sources (this
 * machine's neighbours are noisy): per source, the median MB/s over `bytes` and every run's md5.
 */
async function md5Pipelines(sources: ReadonlyArray<readonly string[]>, bytes: number, runs: number): Promise<Array<{ mbps: number; md5s: Set<string> }>> {
  const results = sources.map(() => ({ mbps: [] as number[], md5s: new Set<string>() }));
  for (let run = 0; run < runs; run++) {
    for (const [index, source] of sources.entries()) {
      const piped = await runChild('bash', ['-o', 'pipefail', '-c', '"$@" | md5sum', 'bash', ...source], 120_000);
      results[index].mbps.push(bytes / mib / piped.seconds);
      results[index].md5s.add(piped.stdout.split(' ')[0]);
    }
  }
  return results.map(({ mbps, md5s }) => ({ mbps: percentile(mbps, 0.5), md5s }));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

type SmallOpKind = 'put' | 'get';
const smallOpsClients = 32;
const smallOpsProcesses = 2;
const smallOpsClientFlag = '--s3-small-ops-client';

interface SmallOpsJob {
  cairn: Pick<CairnProcess, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>;
  firstClient: number;
  clients: number;
  durationMs: number;
  kind: SmallOpKind;
}

/** One client process's share: `clients` loops, each on its own 16 keys, until the deadline. */
async function smallOpsLatencies(job: SmallOpsJob): Promise<number[]> {
  const s3 = s3ClientFor(job.cairn); // the SDK's agent allows 50 sockets: enough for its clients
  const latencies: number[] = [];
  const deadline = performance.now() + job.durationMs;
  const body = randomBytes(4096);
  await Promise.all(Array.from({ length: job.clients }, async (_, index) => {
    const client = job.firstClient + index;
    for (let i = 0; performance.now() < deadline && i < 100_000; i++) {
      const started = performance.now();
      const key = `small/${client}/${i % 16}`;
      if (job.kind === 'put') {
        body.writeUInt32LE(client * 1_000_003 + i, 0);
        await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: key, Body: body }));
      } else {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
        await got.Body!.transformToByteArray();
      }
      latencies.push(performance.now() - started);
    }
  }));
  s3.destroy();
  return latencies;
}

/** Child side: wait for the job, say ready, run on "go" so all processes start together. */
async function smallOpsClientProcess(): Promise<void> {
  const job = await new Promise<SmallOpsJob>((resolve) => process.once('message', (message) => resolve(message as SmallOpsJob)));
  s3ClientFor(job.cairn).destroy(); // load the SDK before the clock starts
  process.send!('ready');
  await new Promise((resolve) => process.once('message', resolve));
  const latencies = await smallOpsLatencies(job);
  process.send!(latencies, () => process.disconnect());
}

async function smallOps(cairn: CairnProcess, durationMs: number, kind: SmallOpKind): Promise<{ opsPerSecond: number; p99Ms: number }> {
  const perProcess = smallOpsClients / smallOpsProcesses;
  const children = Array.from({ length: smallOpsProcesses }, () => fork(fileURLToPath(import.meta.url), [smallOpsClientFlag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    const answers = children.map((child) => new Promise<unknown[]>((resolve, reject) => {
      const messages: unknown[] = [];
      child.on('message', (message) => { messages.push(message); if (messages.length === 2) resolve(messages); });
      child.once('exit', (code) => { if (messages.length < 2) reject(new Error(`small-ops client exited with ${code}`)); });
    }));
    const ready = children.map((child) => new Promise<void>((resolve) => child.once('message', () => resolve())));
    children.forEach((child, index) => child.send({ cairn: { endpoint: cairn.endpoint, accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey }, firstClient: index * perProcess, clients: perProcess, durationMs, kind } satisfies SmallOpsJob));
    await Promise.all(ready);
    for (const child of children) child.send('go');
    const latencies = (await Promise.all(answers)).flatMap((messages) => messages[1] as number[]);
    return { opsPerSecond: latencies.length / (durationMs / 1000), p99Ms: percentile(latencies, 0.99) };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

async function fsyncPerOp(path: string, durationMs: number): Promise<{ opsPerSecond: number; p99Ms: number }> {
  const handle = await open(path, 'a');
  const block = randomBytes(4096);
  const latencies: number[] = [];
  const deadline = performance.now() + durationMs;
  for (let i = 0; performance.now() < deadline && i < 1_000_000; i++) {
    const started = performance.now();
    await handle.write(block);
    await handle.datasync();
    latencies.push(performance.now() - started);
  }
  await handle.close();
  return { opsPerSecond: latencies.length / (durationMs / 1000), p99Ms: percentile(latencies, 0.99) };
}

// The helper starts the server from dist/ when CAIRN_TEST_DIST=1 (after a build), through tsx
// otherwise; tsx's loader alone adds ~35 MiB of RSS (idle ~112 vs ~76 MiB), so the RSS row says which.
const serverRuntime = process.env.CAIRN_TEST_DIST === '1' ? 'from dist/' : 'through tsx (~35 MiB above dist/)';

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const scratch = await makeDataDir();
  const cairn: CairnProcess = await startCairn({ extraArgs: ['--log-level', 'error'] });
  const s3 = s3ClientFor(cairn);
  const pool = randomBytes(64 * mib);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const streamBytes = 1024 * mib;
    await settleFreedPages();
    const fileWrite = await plainFileWrite(join(scratch, 'plain'), streamBytes, pool);
    const fileRead = await plainFileRead(join(scratch, 'plain'), streamBytes);
    await settleFreedPages();
    const put = await timedPut(s3, 'stream', streamBytes, pool);
    const get = await timedGet(s3, 'stream', streamBytes);
    const url = await getSignedUrl(cairn, 'GET', 'bench', 'stream', 900);
    const [catPipe, curlPipe] = await md5Pipelines([['cat', join(scratch, 'plain')], ['curl', '-sSf', url]], streamBytes, 3);
    await rm(join(scratch, 'plain'));
    if (catPipe.md5s.size !== 1 || curlPipe.md5s.size !== 1 || [...curlPipe.md5s][0] !== [...catPipe.md5s][0]) {
      throw new Error(`GET through curl returned other bytes: md5s ${[...curlPipe.md5s].join(', ')}, file ${[...catPipe.md5s].join(', ')}`);
    }
    const curlPut = await curlPuts(cairn, scratch, streamBytes, 3);
    const nullServer = await nullServerStreams(streamBytes, pool);
    rows.push({ name: 'S3 PUT 1 GiB unique data, one stream', figure: put, unit: 'MB/s', referenceName: 'plain file write+fsync', referenceFigure: fileWrite, higherIsBetter: true, note: 'aim ≥ 0.4' });
    rows.push({ name: 'S3 PUT 1 GiB unique data, curl -T (presigned)', figure: curlPut.put, unit: 'MB/s', referenceName: 'the same bytes: plain file write+fsync', referenceFigure: curlPut.fileWrite, higherIsBetter: true, note: 'aim ≥ 0.4; medians of 3 alternating runs, each ETag the MD5' });
    rows.push({ name: 'S3 GET 1 GiB, one stream', figure: get, unit: 'MB/s', referenceName: 'plain file read', referenceFigure: fileRead, higherIsBetter: true, note: 'aim ≥ 0.6' });
    rows.push({ name: 'S3 GET 1 GiB, curl (presigned) | md5sum', figure: curlPipe.mbps, unit: 'MB/s', referenceName: 'cat plain file | md5sum', referenceFigure: catPipe.mbps, higherIsBetter: true, note: 'aim ≥ 0.6; median of 3 alternating runs, every md5 equal' });
    for (const [name, figure, ceiling] of [['PUT 1 GiB unique data', put, nullServer.put], ['GET 1 GiB', get, nullServer.get]] as const) {
      rows.push({ name: `S3 ${name}, one stream`, figure, unit: 'MB/s', referenceName: 'the same SDK client with a null server', referenceFigure: ceiling, higherIsBetter: true, note: 'the client\'s own ceiling on this machine' });
    }

    const many = s3ClientFor(cairn); // the SDK's agent allows 50 sockets: enough for 32 clients
    const reference = await fsyncPerOp(join(scratch, 'appends'), 3000);
    // Every client's 16 keys exist before the GET phase reads them.
    await Promise.all(Array.from({ length: smallOpsClients }, async (_, client) => {
      for (let i = 0; i < 16; i++) await many.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${client}/${i}`, Body: randomBytes(4096) }));
    }));
    const puts = await smallOps(cairn, 5000, 'put');
    const gets = await smallOps(cairn, 5000, 'get');
    const clients = `${smallOpsProcesses} client processes`;
    rows.push({ name: `S3 PUT 4 KiB, ${smallOpsClients} clients`, figure: puts.opsPerSecond, unit: 'ops/s', referenceName: '4 KiB append+fdatasync per op', referenceFigure: reference.opsPerSecond, higherIsBetter: true, note: `p99 ${puts.p99Ms.toFixed(1)} ms vs ${reference.p99Ms.toFixed(2)} ms; ${clients}` });
    rows.push({ name: `S3 GET 4 KiB, ${smallOpsClients} clients`, figure: gets.opsPerSecond, unit: 'ops/s', referenceName: '4 KiB append+fdatasync per op', referenceFigure: reference.opsPerSecond, higherIsBetter: true, note: `p99 ${gets.p99Ms.toFixed(1)} ms; ${clients}` });
    many.destroy();

    const bigBytes = 5 * 1024 * mib;
    const rssBefore = await peakRssMiB(cairn.child.pid!);
    await timedPut(s3, 'five-gib', bigBytes, pool);
    const rssAfterPut = await peakRssMiB(cairn.child.pid!);
    await timedGet(s3, 'five-gib', bigBytes);
    const rss = await peakRssMiB(cairn.child.pid!);
    // Which phase set the peak: the PUT's stream and commit, or the GET after it.
    rows.push({ name: 'server peak RSS streaming a 5 GiB object in and out', figure: rss, unit: 'MiB', referenceName: 'limit', referenceFigure: 300, higherIsBetter: false, note: `peak before: ${rssBefore.toFixed(0)} MiB, through the PUT: ${rssAfterPut.toFixed(0)} MiB; server ${serverRuntime}` });
  } catch (error) {
    process.stdout.write(`server output (tail):\n${cairn.output().slice(-4000)}\n`);
    throw error;
  } finally {
    s3.destroy();
    await cairn.stop();
    await removeDataDir(cairn.dataDir);
    await removeDataDir(scratch);
  }
  return rows;
}

if (process.argv.includes(smallOpsClientFlag)) {
  smallOpsClientProcess().catch((error: unknown) => {
    process.stderr.write(`small-ops client: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
