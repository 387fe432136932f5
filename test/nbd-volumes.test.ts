// Method: a real `cairn serve` child (port 0, loopback, its own data dir) driven by real NBD
// clients — qemu-img, nbdcopy, qemu-io — and by the NBD test client for precise concurrent
// loads; volumes are managed through the admin API (and once through the `cairn` CLI). Content is
// checked byte for byte or by sha256; space by the chunk store's own stats and the data dir size.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../blockstore/nbd/test-client.js';
import { killChildren, pseudoRandomBytes, run } from '../blockstore/nbd/test-tools.js';
import { adminCall } from './helpers/admin.js';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { runCli } from './helpers/cli.js';

const mebibyte = 1024 * 1024;
let cairn: CairnProcess;
let work: string;

const uri = (name: string) => `${cairn.nbdEndpoint}/${name}`;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const nbdPort = () => Number(new URL(cairn.nbdEndpoint).port);

async function ok(command: string, args: string[], timeoutMs = 90_000): Promise<string> {
  const result = await run(command, args, timeoutMs);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} → ${result.code}\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function createVolume(name: string, size: string): Promise<void> {
  await adminCall(cairn, 'POST', '/volumes', { name, size });
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cairn-nbd-volumes-'));
  cairn = await startCairn();
});

afterAll(async () => {
  killChildren();
  await cairn?.kill(); // no graceful shutdown needed: the data dir goes away
  if (cairn) await removeDataDir(cairn.dataDir);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('NBD volumes against a real cairn serve', { timeout: 150_000 }, () => {
  it('qemu-img round trip of an ext4 image passes e2fsck and compares equal', async () => {
    await runCli(['volume', 'create', 'ext4vol', '--size', '64M', '--data', cairn.dataDir]);
    const files = join(work, 'files');
    await ok('mkdir', ['-p', files]);
    await writeFile(join(files, 'random.bin'), pseudoRandomBytes(5 * mebibyte, 11));
    await writeFile(join(files, 'hello.txt'), 'hello from cairn\n');
    const image = join(work, 'fs.img');
    await ok('truncate', ['-s', '64M', image]);
    await ok('mkfs.ext4', ['-q', '-F', '-d', files, image]);
    await ok('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', image, uri('ext4vol')]);
    const back = join(work, 'back.img');
    await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('ext4vol'), back]);
    await ok('e2fsck', ['-fn', back]);
    expect((await readFile(back)).equals(await readFile(image))).toBe(true);
    const info = JSON.parse(await runCli(['volume', 'info', 'ext4vol', '--data', cairn.dataDir])) as { allocatedBytes: number };
    expect(info.allocatedBytes).toBeGreaterThan(5 * mebibyte);
    expect(info.allocatedBytes).toBeLessThan(32 * mebibyte); // holes take no space
  });

  it('nbdcopy of 1 GiB of random data in and out keeps its sha256', async () => {
    await createVolume('big', '1G');
    const source = join(work, 'big.src');
    const data = pseudoRandomBytes(1024 * mebibyte, 21);
    await writeFile(source, data);
    await ok('nbdcopy', ['--flush', source, uri('big')], 120_000);
    const target = join(work, 'big.out');
    await ok('nbdcopy', [uri('big'), target], 120_000);
    expect(sha256(await readFile(target))).toBe(sha256(data));
    await rm(source);
    await rm(target);
  });

  it('qemu-io random write/read-verify patterns, aligned and not', async () => {
    await createVolume('qio', '64M');
    let state = 12345;
    const next = (bound: number) => { state = (state * 1103515245 + 12345) >>> 0; return state % bound; };
    const writes: string[] = [];
    const verifies: string[] = [];
    for (let index = 0; index < 60; index++) {
      const offset = index * 1024 * 1024 + next(512) * 512 + (index % 3 === 0 ? next(511) : 0);
      const length = 512 * (1 + next(300)) + (index % 5 === 0 ? 7 : 0);
      const pattern = 1 + next(250);
      writes.push('-c', `write -P ${pattern} ${offset} ${length}`);
      verifies.push('-c', `read -P ${pattern} ${offset} ${length}`);
    }
    await ok('qemu-io', ['-f', 'raw', ...writes, '-c', 'flush', ...verifies, uri('qio')]);
    // A fresh connection sees the same bytes (multi-conn visibility), and holes read as zeros.
    const out = await ok('qemu-io', ['-f', 'raw', '-r', ...verifies, '-c', `read -P 0 ${63 * mebibyte + 512 * 1024} 65536`, uri('qio')]);
    expect(out).not.toMatch(/Pattern verification failed/);
  });

  it('a snapshot taken during a write load holds exactly the writes acknowledged before it; a clone diverges alone', async () => {
    await createVolume('busy', '64M');
    const client = await TestClient.open(nbdPort(), 'busy');
    const block = 64 * 1024;
    const acked = new Set<number>();
    const started = new Set<number>();
    let stop = false;
    const writer = (async () => {
      for (let index = 0; index < 1024 && !stop; index += 8) {
        const batch = Array.from({ length: 8 }, (_, k) => index + k);
        for (const slot of batch) started.add(slot);
        await Promise.all(batch.map(async (slot) => {
          const reply = await client.write(slot * block, Buffer.alloc(block, (slot % 250) + 1));
          expect(reply.errno).toBe(0);
          acked.add(slot);
        }));
      }
    })();
    while (acked.size < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    const ackedBefore = new Set(acked);
    await adminCall(cairn, 'POST', '/snapshots', { name: 'busy', snap: 'mid' });
    const startedAfter = new Set(started);
    stop = true;
    await writer;
    client.disconnect();
    const snapFile = join(work, 'mid.img');
    await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('busy@mid'), snapFile]);
    const snap = await readFile(snapFile);
    for (let slot = 0; slot < 1024; slot++) {
      const piece = snap.subarray(slot * block, (slot + 1) * block);
      const written = Buffer.alloc(block, (slot % 250) + 1);
      if (ackedBefore.has(slot)) expect(piece.equals(written), `slot ${slot} acknowledged before`).toBe(true);
      else if (!startedAfter.has(slot)) expect(piece.equals(Buffer.alloc(block)), `slot ${slot} written after`).toBe(true);
      else expect(piece.equals(written) || piece.equals(Buffer.alloc(block)), `slot ${slot} in flight`).toBe(true);
    }
    const readOnly = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 1 0 4096', uri('busy@mid')]);
    expect(readOnly.code !== 0 || /failed|denied|read-only/i.test(readOnly.stdout + readOnly.stderr)).toBe(true);
    await adminCall(cairn, 'POST', '/clones', { source: 'busy@mid', name: 'busyclone' });
    await ok('qemu-io', ['-f', 'raw', '-c', 'write -P 0xee 0 1M', uri('busyclone')]);
    await ok('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0xee 0 1M', uri('busyclone')]);
    const again = join(work, 'mid2.img');
    await ok('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('busy@mid'), again]);
    expect((await readFile(again)).equals(snap)).toBe(true);
    const original = await ok('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 1 0 64k', uri('busy')]);
    expect(original).not.toMatch(/Pattern verification failed/);
  });

  it('100 clones of one 256 MiB image grow the store by less than 5 %', async () => {
    await createVolume('gold', '256M');
    const source = join(work, 'gold.src');
    const image = pseudoRandomBytes(256 * mebibyte, 31);
    await writeFile(source, image);
    await ok('nbdcopy', ['--flush', source, uri('gold')], 120_000);
    await adminCall(cairn, 'POST', '/snapshots', { name: 'gold', snap: 'base' });
    const before = await dirBytes(cairn.dataDir);
    for (let index = 0; index < 100; index++) await adminCall(cairn, 'POST', '/clones', { source: 'gold@base', name: `vm${index}` });
    const after = await dirBytes(cairn.dataDir);
    expect(after - before).toBeLessThan(0.05 * 256 * mebibyte);
    const copy = join(work, 'vm57.img');
    await ok('nbdcopy', [uri('vm57'), copy]);
    expect(sha256(await readFile(copy))).toBe(sha256(image));
    await rm(source);
    await rm(copy);
  });

  it('no marker written through NBD appears in plaintext anywhere in the data dir', async () => {
    await createVolume('secret', '16M');
    const markers = Array.from({ length: 8 }, (_, index) => `cairn-marker-${index}-${sha256(Buffer.from(String(index))).slice(0, 24)}`);
    for (let index = 0; index < markers.length; index++) {
      // Odd markers fill whole blocks (folded into chunks), even ones are small (journal only).
      const file = join(work, `marker${index}`);
      await writeFile(file, Buffer.from(markers[index].repeat(index % 2 === 0 ? 1 : 5000)));
      const size = (await stat(file)).size;
      await ok('qemu-io', ['-f', 'raw', '-c', `write -s ${file} ${index * 1_000_003 + 17} ${size}`, '-c', 'flush', uri('secret')]);
    }
    await adminCall(cairn, 'POST', '/snapshots', { name: 'secret', snap: 'folded' });
    await ok('qemu-io', ['-f', 'raw', '-c', `write -s ${join(work, 'marker0')} 9000000 ${markers[0].length}`, '-c', 'flush', uri('secret')]);
    for (const entry of await readdir(cairn.dataDir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const bytes = await readFile(join(entry.parentPath, entry.name));
      for (const marker of markers) expect(bytes.includes(marker), `${marker} in ${entry.name}`).toBe(false);
    }
    const check = await ok('qemu-io', ['-f', 'raw', '-r', '-c', `read -v ${3 * 1_000_003 + 17} 16`, uri('secret')]);
    expect(check).toContain('cairn.marker.3');
  });
});
