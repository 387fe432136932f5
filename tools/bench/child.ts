// Child processes of the benches (nbdcopy, fio, curl | md5sum): run to the end, timed, killed
// past a deadline, and a non-zero exit is an error that carries the start of stderr.
import { spawn } from 'node:child_process';

const childTimeoutMs = 30_000;

export interface Finished { code: number | null; stdout: string; stderr: string; seconds: number }

export function runChild(command: string, args: readonly string[], timeoutMs = childTimeoutMs): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => { stdout += data.toString(); });
    child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve({ code, stdout, stderr, seconds });
    });
  });
}
