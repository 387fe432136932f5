// Method: real NBD clients (qemu-img, qemu-io, nbdsh/libnbd, nbdcopy, nbdinfo) drive startNbdServer
// over MemoryBlockDevice on a loopback port 0. Data goes in and comes back out and is compared
// byte for byte (or by sha256); errors are observed as the client reports them. Each client is a
// child process with a timeout, killed in afterAll. A missing binary skips its test with a message.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlockDevice, MemoryExportRegistry } from './memory-block-device.js';
import { type NbdServer, startNbdServer } from './server.js';
import { hasBinary, hasNbdsh, killChildren, pseudoRandomBytes, run } from './test-tools.js';

const mebibyte = 1024 * 1024;
const imageBytes = 16 * mebibyte;
const copyBytes = 96 * mebibyte;

let server: NbdServer;
let directory: string;
const disk = new MemoryBlockDevice(imageBytes);
const scratch = new MemoryBlockDevice(64 * mebibyte);
const copyTarget = new MemoryBlockDevice(copyBytes);
const snapshotSource = new MemoryBlockDevice(8 * mebibyte);
snapshotSource.write(0, Buffer.alloc(mebibyte, 0x5a), false);
const registry = new MemoryExportRegistry({
  disk,
  scratch: { device: scratch, description: 'scratch space for nbdsh' },
  copy: copyTarget,
  'scratch@snap': snapshotSource.readOnlyCopy(),
});
const uri = (name: string) => `nbd://127.0.0.1:${server.port}/${name}`;

/** An image with data, runs of zeros, and a non-aligned tail of data. */
function sampleImage(bytes: number, seed: number): Buffer {
  const image = pseudoRandomBytes(bytes, seed);
  image.fill(0, 3 * mebibyte, 7 * mebibyte);
  image.fill(0, 9 * mebibyte + 4096, 9 * mebibyte + 4096 * 5);
  return image;
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'cairn-nbd-clients-'));
  server = await startNbdServer({ host: '127.0.0.1', port: 0, registry });
});

afterAll(async () => {
  killChildren();
  await server?.close();
  rmSync(directory, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('qemu-img and qemu-io against startNbdServer', () => {
  it.skipIf(!hasBinary('qemu-img'))('qemu-img convert of a raw image in and out returns identical bytes', async () => {
    const source = join(directory, 'in.img');
    const target = join(directory, 'out.img');
    const image = sampleImage(imageBytes, 1);
    writeFileSync(source, image);
    const into = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, uri('disk')]);
    expect(into.stderr).toBe('');
    expect(into.code).toBe(0);
    const out = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri('disk'), target]);
    expect(out.code, out.stderr).toBe(0);
    expect(sha256(readFileSync(target))).toBe(sha256(image));
    expect(sha256(await disk.read(0, imageBytes))).toBe(sha256(image));
    const info = await run('qemu-img', ['info', '--output=json', uri('disk')]);
    expect(JSON.parse(info.stdout)['virtual-size']).toBe(imageBytes);
  });

  it.skipIf(!hasBinary('qemu-io'))('qemu-io writes and verifies patterns, including pipelined aio requests', async () => {
    const result = await run('qemu-io', ['-f', 'raw',
      '-c', 'write -P 0xab 0 1M', '-c', 'read -P 0xab 0 1M',
      '-c', 'aio_write -P 0x11 1M 64k', '-c', 'aio_write -P 0x22 1088k 64k', '-c', 'aio_write -P 0x33 2M 4k', '-c', 'aio_flush',
      '-c', 'aio_read -P 0x11 1M 64k', '-c', 'aio_read -P 0x22 1088k 64k', '-c', 'aio_read -P 0x33 2M 4k', '-c', 'aio_flush',
      '-c', 'write -z 0 64k', '-c', 'read -P 0 0 64k', '-c', 'write -P 0xcd -f 64k 4k', '-c', 'read -P 0xcd 64k 4k',
      '-c', 'discard 128k 64k', '-c', 'flush',
      uri('scratch')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/Pattern verification failed|error|failed/i);
    expect(result.stdout.match(/^read /gm)?.length).toBe(6);
    expect((await scratch.read(64 * 1024, 4096)).every((byte) => byte === 0xcd)).toBe(true);
  });
});

describe('nbdsh (libnbd python) against startNbdServer', () => {
  it.skipIf(!hasNbdsh())('pread, pwrite, flush, trim, zero, block_status, can_multi_conn and is_read_only behave', async () => {
    const script = `
import json
h.add_meta_context("base:allocation")
h.connect_uri(${JSON.stringify(uri('scratch'))})
out = {"size": h.get_size(), "multi": h.can_multi_conn(), "ro": h.is_read_only(), "meta": h.can_meta_context("base:allocation"),
       "flush": h.can_flush(), "fua": h.can_fua(), "trim": h.can_trim(), "zero": h.can_zero(), "fast_zero": h.can_fast_zero(),
       "cache": h.can_cache(), "structured": h.get_structured_replies_negotiated()}
h.pwrite(b"\\x42" * 131072, 4 * 1048576, nbd.CMD_FLAG_FUA)
h.flush()
out["read"] = h.pread(131072, 4 * 1048576).hex()[:8]
h.trim(65536, 4 * 1048576)
h.zero(65536, 4 * 1048576 + 65536, nbd.CMD_FLAG_NO_HOLE)
out["after"] = h.pread(8, 4 * 1048576 + 65536 - 4).hex()
h.pwrite(b"\\x07" * 65536, 5 * 1048576)
ents = []
h.block_status(3 * 1048576, 3 * 1048576, lambda meta, off, e, err: ents.append((meta, list(e))))
out["extents"] = ents
one = []
h.block_status(3 * 1048576, 3 * 1048576, lambda meta, off, e, err: one.append(list(e)), nbd.CMD_FLAG_REQ_ONE)
out["one"] = one
try:
    h.pread(4096, h.get_size())
except nbd.Error as e:
    out["past_end"] = e.errno
h.set_strict_mode(0)
try:
    h.pread(4096, h.get_size() - 100)
except nbd.Error as e:
    out["past_end_server"] = e.errno
h.shutdown()
print(json.dumps(out))
`;
    const result = await run('nbdsh', ['-c', script]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(out).toMatchObject({ size: 64 * mebibyte, multi: true, ro: false, meta: true, flush: true, fua: true, trim: true,
      zero: true, fast_zero: true, cache: true, structured: true, read: '42424242', after: '0000000000000000' });
    expect(out.past_end).toBe('EINVAL');
    expect(out.past_end_server).toBe('EINVAL');
    // 3..4 MiB hole, 4 MiB+64k: trimmed → hole; 64k zeroed with NO_HOLE → allocated zeros; 5 MiB written.
    const [meta, flat] = out.extents[0] as [string, number[]];
    expect(meta).toBe('base:allocation');
    const described = flat.filter((_, index) => index % 2 === 0).reduce((sum, length) => sum + length, 0);
    expect(described).toBe(3 * mebibyte);
    expect(flat.slice(0, 2)).toEqual([mebibyte + 65536, 3]);
    expect(out.one).toEqual([[mebibyte + 65536, 3]]);
  });

  it.skipIf(!hasNbdsh())('a read-only export answers EPERM to writes, seen through libnbd', async () => {
    const script = `
import json
h.set_strict_mode(0)
h.connect_uri(${JSON.stringify(uri('scratch@snap'))})
out = {"ro": h.is_read_only(), "can_trim": h.can_trim(), "data": h.pread(4, 0).hex()}
for name, call in [("write", lambda: h.pwrite(b"x" * 512, 0)), ("zero", lambda: h.zero(512, 0)), ("trim", lambda: h.trim(512, 0))]:
    try:
        call()
        out[name] = "ok"
    except nbd.Error as e:
        out[name] = e.errno
out["still"] = h.pread(4, 0).hex()
h.shutdown()
print(json.dumps(out))
`;
    const result = await run('nbdsh', ['-c', script]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(out).toEqual({ ro: true, can_trim: false, data: '5a5a5a5a', write: 'EPERM', zero: 'EPERM', trim: 'EPERM', still: '5a5a5a5a' });
  });
});

describe('nbdinfo and nbdcopy against startNbdServer', () => {
  it.skipIf(!hasBinary('nbdinfo'))('nbdinfo --list shows every export with its description (NBD_OPT_LIST, NBD_OPT_INFO)', async () => {
    const result = await run('nbdinfo', ['--list', '--json', `nbd://127.0.0.1:${server.port}`]);
    expect(result.code, result.stderr).toBe(0);
    const listed = JSON.parse(result.stdout) as { exports: { 'export-name': string; 'export-size': number; 'is_read_only': boolean }[] };
    const byName = new Map(listed.exports.map((entry) => [entry['export-name'], entry]));
    expect([...byName.keys()].sort()).toEqual(['copy', 'disk', 'scratch', 'scratch@snap']);
    expect(byName.get('scratch@snap')?.is_read_only).toBe(true);
    expect(byName.get('copy')?.['export-size']).toBe(copyBytes);
  });

  it.skipIf(!hasBinary('nbdcopy'))('nbdcopy of 96 MiB in and out keeps the checksum', async () => {
    const source = join(directory, 'copy-in.img');
    const target = join(directory, 'copy-out.img');
    const image = pseudoRandomBytes(copyBytes, 7);
    image.fill(0, 10 * mebibyte, 30 * mebibyte);
    writeFileSync(source, image);
    const into = await run('nbdcopy', [source, uri('copy')]);
    expect(into.code, into.stderr).toBe(0);
    const out = await run('nbdcopy', [uri('copy'), target]);
    expect(out.code, out.stderr).toBe(0);
    expect(sha256(readFileSync(target))).toBe(sha256(image));
    expect(sha256(await copyTarget.read(0, copyBytes))).toBe(sha256(image));
  });
});
