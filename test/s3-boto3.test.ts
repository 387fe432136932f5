// Contract: boto3 (put/get/list, upload_file/download_file multipart, presigned URLs fetched with
// urllib, virtual-hosted-style addressing) works against a real `cairn serve` child process.
// Method: one python script (helpers/boto3-suite.py) drives boto3 and prints what it observed as
// JSON; this file checks it. Skips with a message when boto3 cannot be imported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { removeDataDir, repoRoot, startCairn, type CairnProcess } from './helpers/cairn-process.js';

const run = promisify(execFile);

/** The first python that imports boto3: the one on PATH (pyenv here), else Debian's, where
 *  .ci/run's python3-boto3 lands on a fresh machine. */
function findPython(): { python?: string; missing?: string } {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import boto3'], { stdio: 'pipe', timeout: 30_000 });
      return { python };
    } catch {
      // try the next interpreter
    }
  }
  return { missing: 'boto3 cannot be imported by python3 or /usr/bin/python3; install python3-boto3 to run this file' };
}

const { python, missing } = findPython();
if (missing) console.warn(`s3-boto3.test.ts skipped: ${missing}`);

describe.skipIf(missing !== undefined)('boto3 against cairn serve', () => {
  let cairn: CairnProcess;
  let work: string;
  let observed: Record<string, any>;

  beforeAll(async () => {
    cairn = await startCairn();
    work = await mkdtemp(join(tmpdir(), 'cairn-boto3-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: work, PYENV_ROOT: process.env.PYENV_ROOT, PYENV_VERSION: process.env.PYENV_VERSION, LANG: 'C.UTF-8',
      CAIRN_ENDPOINT: cairn.endpoint, WORK_DIR: work, AWS_ACCESS_KEY_ID: cairn.accessKeyId, AWS_SECRET_ACCESS_KEY: cairn.secretAccessKey,
      AWS_CONFIG_FILE: join(work, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
    const { stdout } = await run(python!, [join(repoRoot, 'test/helpers/boto3-suite.py')], { env, timeout: 80_000, maxBuffer: 4 * 1024 * 1024 })
      .catch((error: { stderr?: string; message: string }) => { throw new Error(`boto3 script failed: ${error.stderr ?? error.message}`); });
    observed = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, any>;
  }, 90_000);

  afterAll(async () => {
    await cairn?.stop();
    if (cairn) await removeDataDir(cairn.dataDir);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('put_object and get_object round-trip bytes, metadata and the MD5 ETag; ranges work', () => {
    expect(observed.put).toEqual({ etag: observed.put.md5, md5: observed.put.md5, sameBytes: true, metadata: { colour: 'red' }, contentType: 'application/x-boto' });
    expect(observed.range).toEqual({ sameBytes: true, contentRange: 'bytes 10-19/50000' });
    expect(observed.missing).toBe('NoSuchKey');
  });

  it('upload_file above the multipart threshold makes a 3-part object that download_file returns intact', () => {
    expect(observed.multipart.size).toBe(12 * 1024 * 1024 + 7);
    expect(observed.multipart.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(observed.multipart.backSha256).toBe(observed.multipart.sha256);
  });

  it('list_objects_v2 folds prefixes and the paginator visits every key once', () => {
    expect(observed.list).toEqual({ keys: ['big.bin'], prefixes: ['dir/'], keyCount: 2 });
    expect(observed.paged).toEqual(['big.bin', 'dir/small.bin']);
  });

  it('a SigV2 presigned URL (boto3\'s default) is refused with S3\'s "use AWS4-HMAC-SHA256" error', () => {
    // A botocore that presigns with SigV4 by default makes this URL an ordinary, working one.
    if (!observed.presignedV2.sigv2) { expect(observed.presignedV2.status).toBe(200); return; }
    expect(observed.presignedV2.status).toBe(400);
    expect(observed.presignedV2.body).toContain('<Code>InvalidRequest</Code>');
    expect(observed.presignedV2.body).toContain('Please use AWS4-HMAC-SHA256');
  });

  it('presigned (SigV4) GET and PUT URLs from generate_presigned_url work with a plain HTTP client', () => {
    expect(observed.presignedGet).toEqual({ status: 200, sameBytes: true });
    expect(observed.presignedPut).toEqual({ status: 200, body: 'put via presign' });
  });

  it('virtual-hosted-style requests name the bucket in the Host header', () => {
    expect(observed.virtual.body).toBe('virtual hosted');
    expect(observed.virtual.keys).toEqual(['virtual/key.txt']);
    expect(observed.virtual.hosts.length).toBeGreaterThan(0);
    for (const host of observed.virtual.hosts) expect(host).toMatch(/^boto\.s3\.localhost:\d+$/);
  });

  it('delete_objects and delete_bucket clean up', () => {
    expect(observed.deleted).toEqual(['big.bin', 'dir/small.bin', 'presigned.txt', 'virtual/key.txt']);
    expect(observed.bucketsAfter).toEqual([]);
  });
});
