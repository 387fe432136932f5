// Starts a real `cairn serve` child process on a free loopback port (port 0) with its own data
// directory, and checks that what answers is the process we started (endpoint.json's pid).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * How to run the real `cairn` CLI: through its launcher (tools/cairn, which execs node with the
 * server's memory settings, so the pid stays the child's). `npm test` builds dist/ first
 * (tsc -p .) and sets CAIRN_TEST_DIST=1, so children start from compiled JS (about half the
 * start-up time, which the crash tests pay twenty times); a plain `npx vitest` runs the sources
 * through tsx. Children run this test's node binary.
 */
export const cairnLauncher = join(repoRoot, 'tools/cairn');

export function cairnEnv(): Record<string, string> {
  return { CAIRN_NODE: process.execPath, CAIRN_FROM_SOURCE: process.env.CAIRN_TEST_DIST === '1' ? '0' : '1' };
}

export interface CairnProcess {
  child: ChildProcess;
  dataDir: string;
  endpoint: string;
  /** http://HOST:PORT of the node's Lambda API. */
  lambdaEndpoint: string;
  /** nbd://HOST:PORT of the node's NBD server (append /EXPORT for a volume). */
  nbdEndpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  output: () => string;
  /** SIGKILL, no goodbye: what a crash looks like. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cairn-test-'));
}

export async function startCairn(options: { dataDir?: string; accessKeyId?: string; secretAccessKey?: string; extraArgs?: string[]; env?: Record<string, string> } = {}): Promise<CairnProcess> {
  const dataDir = options.dataDir ?? await makeDataDir();
  const accessKeyId = options.accessKeyId ?? 'CAIRNTESTROOTKEY0001';
  const secretAccessKey = options.secretAccessKey ?? 'cairn-test-root-secret-key-0000000000000';
  const child = spawn(cairnLauncher, ['serve', '--data', dataDir, '--s3-port', '0', '--lambda-port', '0',
    '--nbd-port', '0', '--log-level', 'warn', ...(options.extraArgs ?? [])], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...cairnEnv(), CAIRN_ROOT_ACCESS_KEY: accessKeyId, CAIRN_ROOT_SECRET_KEY: secretAccessKey, ...options.env },
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => { output += data.toString(); });
  child.stderr!.on('data', (data: Buffer) => { output += data.toString(); });
  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    const timer = setTimeout(() => reject(new Error(`cairn did not start in time:\n${output}`)), 30_000);
    const onData = () => {
      const match = /S3 endpoint\s+(\S+)/.exec(output);
      if (match) { clearTimeout(timer); child.stdout!.off('data', onData); resolveEndpoint(match[1]); }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`cairn exited with ${code}:\n${output}`)); });
  });
  const recorded = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as { s3: string; pid: number };
  if (recorded.pid !== child.pid || recorded.s3 !== endpoint) throw new Error('the process answering is not the one this test started');
  const nbdEndpoint = /NBD endpoint\s+(\S+)/.exec(output)?.[1];
  if (!nbdEndpoint) throw new Error(`cairn printed no NBD endpoint:\n${output}`);
  const lambdaEndpoint = /Lambda endpoint\s+(\S+)/.exec(output)?.[1];
  if (!lambdaEndpoint) throw new Error(`cairn printed no Lambda endpoint:\n${output}`);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child, dataDir, endpoint, lambdaEndpoint, nbdEndpoint, accessKeyId, secretAccessKey, output: () => output,
    async kill() { child.kill('SIGKILL'); await exited; },
    async stop() { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await exited; } },
  };
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
