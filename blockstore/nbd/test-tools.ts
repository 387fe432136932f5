// Helpers for the tests that drive real NBD clients (qemu-img, qemu-io, nbdsh, nbdcopy, nbdinfo):
// find binaries, run them with a timeout, kill stragglers, make deterministic pseudo-random data.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';

const children = new Set<ChildProcess>();

/** nbdsh runs `python3 -m nbd`; a python3 earlier on PATH (pyenv) may lack the libnbd module, so the
 * system interpreter's directory goes first. */
export const toolEnvironment = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}`, LIBNBD_DEBUG: '0' };

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { env: toolEnvironment }).status === 0;
}

export function hasNbdsh(): boolean {
  return hasBinary('nbdsh') && spawnSync('nbdsh', ['--version'], { env: toolEnvironment }).status === 0;
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion or kills it after timeoutMs; never rejects. */
export function run(command: string, args: readonly string[], timeoutMs = 60_000, stdin?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: toolEnvironment, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (data: Buffer) => { stdout += data.toString(); });
    child.stderr!.on('data', (data: Buffer) => { stderr += data.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => { stderr += String(error); });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.on('error', () => {}); // a child that exits before reading stdin (EPIPE) is not a test failure
    child.stdin!.end(stdin ?? '');
  });
}

/** For afterAll: every child still running is killed. */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Deterministic pseudo-random bytes (AES-CTR keystream of a seed), fast enough for 100+ MiB. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}
