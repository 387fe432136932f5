// Contract: the aws CLI (`aws s3` high-level commands and `aws s3api` operations, JSON output)
// works against a real `cairn serve` child process. Method: every step runs the real CLI, and
// what it stored is read back through the CLI and compared by SHA-256 with what was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { seededBytes } from './helpers/s3-client.js';
import { awsCliFor, type AwsCli } from './helpers/aws-cli.js';

// Each aws invocation costs ~1 s of python start-up on an idle 2-core machine and several times
// that when other suites share it; the per-test bound allows for the latter.
const cliTestMs = 120_000;

let cairn: CairnProcess;
let aws: AwsCli;
let work: string;

beforeAll(async () => {
  cairn = await startCairn();
  aws = await awsCliFor(cairn);
  work = await mkdtemp(join(tmpdir(), 'cairn-awscli-work-'));
});

afterAll(async () => {
  await aws?.dispose();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
  if (work) await rm(work, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

describe('aws s3 (high-level commands)', () => {
  beforeAll(async () => { await aws(['s3', 'mb', 's3://cli-high']); });

  it('cp uploads and downloads a small file byte for byte; presign makes a URL that fetches it', async () => {
    const body = seededBytes(101, 12_345);
    await writeFile(join(work, 'small.bin'), body);
    await aws(['s3', 'cp', join(work, 'small.bin'), 's3://cli-high/small.bin']);
    const [, presigned] = await Promise.all([
      aws(['s3', 'cp', 's3://cli-high/small.bin', join(work, 'small.back')]),
      aws(['s3', 'presign', 's3://cli-high/small.bin', '--expires-in', '300']),
    ]);
    expect(sha256(await readFile(join(work, 'small.back')))).toBe(sha256(body));
    const fetched = await fetch(presigned.trim());
    expect(fetched.status).toBe(200);
    expect(sha256(Buffer.from(await fetched.arrayBuffer()))).toBe(sha256(body));
  }, cliTestMs);

  it('cp of a 100 MiB file goes multipart and comes back with the same SHA-256', async () => {
    const path = join(work, 'big.bin');
    await writeFile(path, seededBytes(102, 100 * 1024 * 1024));
    await aws(['s3', 'cp', path, 's3://cli-high/big.bin'], { timeoutMs: 120_000 });
    // Independent CLI runs go in parallel: each costs a python start-up.
    const [head] = await Promise.all([
      aws.json(['s3api', 'head-object', '--bucket', 'cli-high', '--key', 'big.bin']),
      aws(['s3', 'cp', 's3://cli-high/big.bin', join(work, 'big.back')], { timeoutMs: 120_000 }),
    ]);
    expect(head.ContentLength).toBe(100 * 1024 * 1024);
    expect(String(head.ETag)).toMatch(/^"[0-9a-f]{32}-13"$/); // 8 MiB parts: the CLI's default
    expect(await sha256OfFile(join(work, 'big.back'))).toBe(await sha256OfFile(path));
    await rm(join(work, 'big.back'));
    await rm(path);
  }, 180_000);

  it('sync copies a tree up and down, then only the changed file', async () => {
    const source = join(work, 'tree');
    const files: Record<string, Buffer> = {
      'a.txt': Buffer.from('alpha'), 'dir/b.bin': seededBytes(103, 70_000), 'dir/sub/c.bin': seededBytes(104, 1000), 'd e.txt': Buffer.from('space'),
    };
    for (const [name, data] of Object.entries(files)) {
      await mkdir(join(source, name, '..'), { recursive: true });
      await writeFile(join(source, name), data);
    }
    const up = await aws(['s3', 'sync', '--no-progress', source, 's3://cli-high/tree']);
    expect(up.match(/upload:/g)?.length).toBe(4);
    const target = join(work, 'tree-back');
    const down = await aws(['s3', 'sync', '--no-progress', 's3://cli-high/tree', target]);
    expect(down.match(/download:/g)?.length).toBe(4);
    for (const [name, data] of Object.entries(files)) expect(sha256(await readFile(join(target, name)))).toBe(sha256(data));
    // A different size makes sync copy the file regardless of timestamps.
    await writeFile(join(source, 'dir/b.bin'), seededBytes(105, 70_001));
    const again = await aws(['s3', 'sync', '--no-progress', source, 's3://cli-high/tree']);
    expect(again.trim().split('\n')).toEqual([expect.stringMatching(/^upload: .*dir\/b\.bin to s3:\/\/cli-high\/tree\/dir\/b\.bin$/)]);
    const downAgain = await aws(['s3', 'sync', '--no-progress', 's3://cli-high/tree', target]);
    expect(downAgain.trim().split('\n')).toEqual([expect.stringMatching(/^download: s3:\/\/cli-high\/tree\/dir\/b\.bin to /)]);
    expect(sha256(await readFile(join(target, 'dir/b.bin')))).toBe(sha256(seededBytes(105, 70_001)));
  }, cliTestMs);

  it('ls lists prefixes and recursive keys; rm --recursive empties; rb removes the bucket', async () => {
    const [top, recursive, notEmpty] = await Promise.all([
      aws(['s3', 'ls', 's3://cli-high/tree/']), aws(['s3', 'ls', '--recursive', 's3://cli-high/']), aws.failure(['s3', 'rb', 's3://cli-high']),
    ]);
    expect(top).toMatch(/PRE dir\//);
    expect(top).toMatch(/ a\.txt$/m);
    expect(top).toMatch(/ d e\.txt$/m);
    const keys = recursive.trim().split('\n').map((line) => line.split(/\s+/).slice(3).join(' ')).sort();
    expect(keys).toEqual(['big.bin', 'small.bin', 'tree/a.txt', 'tree/d e.txt', 'tree/dir/b.bin', 'tree/dir/sub/c.bin']);
    expect(notEmpty).toMatch(/BucketNotEmpty/);
    // `rm` has no --no-progress; its progress lines end in \r, so count the delete lines' targets.
    const removed = await aws(['s3', 'rm', '--recursive', 's3://cli-high/']);
    expect(new Set(removed.match(/delete: s3:\/\/cli-high\/[^\r\n]+/g)).size).toBe(6);
    await aws(['s3', 'rb', 's3://cli-high']); // succeeds only on an empty bucket
    expect(await aws(['s3', 'ls'])).not.toMatch(/cli-high/);
  }, cliTestMs);
});

describe('aws s3api', () => {
  beforeAll(async () => { await aws.json(['s3api', 'create-bucket', '--bucket', 'cli-api']); });

  it('put-object, head-object, get-object, copy-object, list-objects-v2, delete-objects', async () => {
    const body = seededBytes(201, 33_333);
    await writeFile(join(work, 'api.bin'), body);
    const put = await aws.json(['s3api', 'put-object', '--bucket', 'cli-api', '--key', 'k/one', '--body', join(work, 'api.bin'),
      '--content-type', 'application/x-cli', '--metadata', 'colour=green']);
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const [head, got, copied] = await Promise.all([
      aws.json(['s3api', 'head-object', '--bucket', 'cli-api', '--key', 'k/one']),
      aws.json(['s3api', 'get-object', '--bucket', 'cli-api', '--key', 'k/one', '--range', 'bytes=100-199', join(work, 'api.range')]),
      aws.json(['s3api', 'copy-object', '--bucket', 'cli-api', '--key', 'k/two', '--copy-source', 'cli-api/k/one']),
    ]);
    expect(head).toMatchObject({ ContentLength: body.length, ContentType: 'application/x-cli', Metadata: { colour: 'green' }, ETag: put.ETag });
    expect(got.ContentRange).toBe(`bytes 100-199/${body.length}`);
    expect((await readFile(join(work, 'api.range'))).equals(body.subarray(100, 200))).toBe(true);
    expect((copied.CopyObjectResult as { ETag: string }).ETag).toBe(put.ETag);
    // --no-paginate: the CLI's paginator merges pages and drops per-page fields such as KeyCount.
    const listed = await aws.json(['s3api', 'list-objects-v2', '--no-paginate', '--bucket', 'cli-api', '--prefix', 'k/']);
    expect((listed.Contents as { Key: string; Size: number }[]).map((item) => [item.Key, item.Size])).toEqual([['k/one', body.length], ['k/two', body.length]]);
    expect(listed.KeyCount).toBe(2);
    const deleted = await aws.json(['s3api', 'delete-objects', '--bucket', 'cli-api', '--delete', JSON.stringify({ Objects: [{ Key: 'k/one' }, { Key: 'k/two' }] })]);
    expect((deleted.Deleted as { Key: string }[]).map((item) => item.Key).sort()).toEqual(['k/one', 'k/two']);
    expect(await aws.failure(['s3api', 'get-object', '--bucket', 'cli-api', '--key', 'k/one', join(work, 'nothing')])).toMatch(/NoSuchKey/);
  }, cliTestMs);

  it('create-multipart-upload, upload-part, list-parts, list-multipart-uploads, complete, abort', async () => {
    const parts = [seededBytes(202, 5 * 1024 * 1024), seededBytes(203, 1_000)];
    const [created, second] = await Promise.all([
      aws.json(['s3api', 'create-multipart-upload', '--bucket', 'cli-api', '--key', 'mp']),
      aws.json(['s3api', 'create-multipart-upload', '--bucket', 'cli-api', '--key', 'mp-aborted']),
    ]);
    const uploadId = String(created.UploadId);
    expect(created).toMatchObject({ Bucket: 'cli-api', Key: 'mp' });
    const etags = await Promise.all(parts.map(async (part, index) => {
      const path = join(work, `part${index + 1}`);
      await writeFile(path, part);
      const uploaded = await aws.json(['s3api', 'upload-part', '--bucket', 'cli-api', '--key', 'mp', '--upload-id', uploadId, '--part-number', String(index + 1), '--body', path]);
      expect(uploaded.ETag).toBe(`"${createHash('md5').update(part).digest('hex')}"`);
      return String(uploaded.ETag);
    }));
    const [listedParts, uploads] = await Promise.all([
      aws.json(['s3api', 'list-parts', '--bucket', 'cli-api', '--key', 'mp', '--upload-id', uploadId]),
      aws.json(['s3api', 'list-multipart-uploads', '--bucket', 'cli-api']),
    ]);
    expect((listedParts.Parts as { PartNumber: number; Size: number; ETag: string }[]).map((part) => [part.PartNumber, part.Size, part.ETag]))
      .toEqual([[1, parts[0].length, etags[0]], [2, parts[1].length, etags[1]]]);
    expect((uploads.Uploads as { Key: string; UploadId: string }[]).map((upload) => [upload.Key, upload.UploadId]))
      .toEqual([['mp', uploadId], ['mp-aborted', second.UploadId]]);
    const completed = await aws.json(['s3api', 'complete-multipart-upload', '--bucket', 'cli-api', '--key', 'mp', '--upload-id', uploadId,
      '--multipart-upload', JSON.stringify({ Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) })]);
    const expected = createHash('md5').update(Buffer.concat(parts.map((part) => createHash('md5').update(part).digest()))).digest('hex');
    expect(completed).toMatchObject({ Bucket: 'cli-api', Key: 'mp', ETag: `"${expected}-2"` });
    await aws.json(['s3api', 'abort-multipart-upload', '--bucket', 'cli-api', '--key', 'mp-aborted', '--upload-id', String(second.UploadId)]);
    expect(await aws.failure(['s3api', 'list-parts', '--bucket', 'cli-api', '--key', 'mp-aborted', '--upload-id', String(second.UploadId)])).toMatch(/NoSuchUpload/);
    await aws.json(['s3api', 'get-object', '--bucket', 'cli-api', '--key', 'mp', join(work, 'mp.back')]);
    expect(sha256(await readFile(join(work, 'mp.back')))).toBe(sha256(Buffer.concat(parts)));
  }, cliTestMs);
});
