import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cairnEnv, cairnLauncher, repoRoot } from './cairn-process.js';

const run = promisify(execFile);

/** Runs the real `cairn` CLI as a child process and returns its stdout. */
export async function runCli(args: string[]): Promise<string> {
  const { stdout } = await run(cairnLauncher, args, { cwd: repoRoot, timeout: 60_000, env: { ...process.env, ...cairnEnv() } });
  return stdout;
}
