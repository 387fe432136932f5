// Method: 20 rounds against one data dir. Each round starts `cairn serve`, runs a libnbd writer
// (helpers/nbd-crash-writer.py: random 4 KiB-page writes, FLUSH every 8, some FUA) and SIGKILLs
// the node after a seeded delay. After a restart the volume is read back with nbdcopy and every
// page is checked against the rule of issue 4: it holds the last write acknowledged before the
// last completed FLUSH (or with FUA) — or a later write to that page — and never anything else
// (no torn page, no page no write ever held). What the page holds becomes the next round's base.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killChildren, run, toolEnvironment } from '../blockstore/nbd/test-tools.js';
import { adminCall } from './helpers/admin.js';
import { makeDataDir, removeDataDir, repoRoot, startCairn, type CairnProcess } from './helpers/cairn-process.js';

const pageBytes = 4096;
const pages = 4096; // a 16 MiB volume
const rounds = 20;
let cairn: CairnProcess | undefined;
let dataDir: string | undefined;
let work: string | undefined;

function pageContent(seed: number, write: number, page: number): Buffer {
  const unit = Buffer.alloc(16);
  unit.writeUInt32LE(seed, 0);
  unit.writeUInt32LE(write, 4);
  unit.writeUInt32LE(page, 8);
  unit.writeUInt32LE(0xc0ffee, 12);
  return Buffer.concat(Array.from({ length: pageBytes / 16 }, () => unit));
}

interface WriterLog { started: Array<{ write: number; first: number; count: number }>; fua: Set<number>; flushedThrough: number }

function parseLog(text: string): WriterLog {
  const log: WriterLog = { started: [], fua: new Set(), flushedThrough: 0 };
  for (const line of text.split('\n')) {
    const [kind, ...numbers] = line.trim().split(' ');
    const [a, b, c] = numbers.map(Number);
    if (kind === 'S' && numbers.length === 3) log.started.push({ write: a, first: b, count: c });
    else if (kind === 'U' && numbers.length === 1) log.fua.add(a);
    else if (kind === 'F' && numbers.length === 1) log.flushedThrough = a;
  }
  return log;
}

/** Checks every page; returns how many pages were pinned by a durable write. */
function verify(image: Buffer, base: Buffer, seed: number, log: WriterLog): number {
  let pinned = 0;
  // One pass over the log builds each page's writes in log order (the same lists a per-page
  // filter of the whole log gives, without its pages × writes cost on every round).
  const writesOf: number[][] = Array.from({ length: pages }, () => []);
  for (const entry of log.started) for (let page = entry.first; page < entry.first + entry.count && page < pages; page++) writesOf[page].push(entry.write);
  for (let page = 0; page < pages; page++) {
    const writes = writesOf[page];
    let floorIndex = -1;
    writes.forEach((write, index) => { if (write <= log.flushedThrough || log.fua.has(write)) floorIndex = index; });
    const allowed = [floorIndex >= 0 ? pageContent(seed, writes[floorIndex], page) : base.subarray(page * pageBytes, (page + 1) * pageBytes)];
    for (const write of writes.slice(floorIndex + 1)) allowed.push(pageContent(seed, write, page));
    const actual = image.subarray(page * pageBytes, (page + 1) * pageBytes);
    expect(allowed.some((candidate) => candidate.equals(actual)), `page ${page} after writes ${writes.join(',')} (durable through ${log.flushedThrough})`).toBe(true);
    if (floorIndex >= 0) pinned += 1;
  }
  return pinned;
}

async function runWriterUntilKill(node: CairnProcess, seed: number, killAfterMs: number): Promise<WriterLog> {
  const writer = spawn('/usr/bin/python3', [join(repoRoot, 'test/helpers/nbd-crash-writer.py'), `${node.nbdEndpoint}/crash`, String(seed), String(pages), '100000'],
    { env: toolEnvironment, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  writer.stdout.on('data', (data: Buffer) => { output += data.toString(); });
  const exited = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
  for (let waited = 0; !output.includes('\nW ') && !output.includes('\nU ') && waited < 200; waited++) await new Promise((resolve) => setTimeout(resolve, 25));
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  await node.kill();
  const guard = setTimeout(() => writer.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(guard);
  return parseLog(output);
}

afterAll(async () => {
  killChildren();
  await cairn?.kill();
  if (dataDir) await removeDataDir(dataDir);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('volumes survive kill -9 during writes', () => {
  it(`${rounds} rounds of SIGKILL keep every flushed or FUA write and invent nothing`, { timeout: 300_000 }, async () => {
    dataDir = await makeDataDir();
    work = await mkdtemp(join(tmpdir(), 'cairn-nbd-crash-'));
    cairn = await startCairn({ dataDir });
    await adminCall(cairn, 'POST', '/volumes', { name: 'crash', size: '16M' });
    let base = Buffer.alloc(pages * pageBytes);
    let pinnedTotal = 0;
    for (let round = 1; round <= rounds; round++) {
      const seed = 1000 + round;
      const log = await runWriterUntilKill(cairn, seed, 50 + ((round * 137) % 250));
      cairn = await startCairn({ dataDir });
      const image = join(work, `round${round}.img`);
      const copied = await run('nbdcopy', [`${cairn.nbdEndpoint}/crash`, image]);
      expect(copied.code, copied.stderr).toBe(0);
      const content = await readFile(image);
      expect(log.started.length, `round ${round} wrote something`).toBeGreaterThan(0);
      pinnedTotal += verify(content, base, seed, log);
      base = content;
      await rm(image);
    }
    expect(pinnedTotal).toBeGreaterThan(0);
  });
});
