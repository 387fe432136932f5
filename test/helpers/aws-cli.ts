// Runs the real aws CLI against a Cairn child, configured only through environment variables and
// throwaway config files, so a developer's ~/.aws never leaks into (or out of) a test.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CairnProcess } from './cairn-process.js';

const run = promisify(execFile);

export interface AwsCli {
  /** Runs `aws ARGS --endpoint-url …`; rejects with stderr in the message when it exits non-zero. */
  (args: string[], options?: { timeoutMs?: number }): Promise<string>;
  /** `aws s3api …` with JSON output, parsed. */
  json(args: string[]): Promise<Record<string, unknown>>;
  /** `aws ARGS` expected to fail: resolves with its stderr. */
  failure(args: string[]): Promise<string>;
  dispose(): Promise<void>;
}

export async function awsCliFor(cairn: CairnProcess): Promise<AwsCli> {
  const configDir = await mkdtemp(join(tmpdir(), 'cairn-awscli-'));
  const configFile = join(configDir, 'config');
  const credentialsFile = join(configDir, 'credentials');
  // HOME points into the temp dir too (the CLI would otherwise read ~/.aws); pyenv's shims still
  // need their root, which defaults to $HOME/.pyenv.
  // The defaults the CLI ships with: 8 MiB threshold and parts, so 100 MiB is a 13-part upload.
  // signature_version = s3v4: `aws s3 presign` would otherwise make SigV2 URLs, which Cairn refuses.
  await writeFile(configFile, '[default]\nregion = us-east-1\noutput = json\ns3 =\n  signature_version = s3v4\n');
  await writeFile(credentialsFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: configDir, PYENV_ROOT: process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), PYENV_VERSION: process.env.PYENV_VERSION,
    LANG: 'C.UTF-8', AWS_ACCESS_KEY_ID: cairn.accessKeyId, AWS_SECRET_ACCESS_KEY: cairn.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard', AWS_PAGER: '',
  };
  for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
  const invoke = async (args: string[], options: { timeoutMs?: number } = {}): Promise<string> => {
    try {
      const { stdout } = await run('aws', [...args, '--endpoint-url', cairn.endpoint], { env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const failed = error as { stderr?: string; message: string };
      throw new Error(`aws ${args.join(' ')} failed: ${failed.stderr ?? failed.message}`);
    }
  };
  const cli = invoke as AwsCli;
  cli.json = async (args) => {
    const stdout = await invoke([...args, '--output', 'json']);
    return stdout.trim() === '' ? {} : JSON.parse(stdout) as Record<string, unknown>;
  };
  cli.failure = async (args) => {
    try {
      await run('aws', [...args, '--endpoint-url', cairn.endpoint], { env, timeout: 60_000 });
    } catch (error) {
      return (error as { stderr?: string }).stderr ?? '';
    }
    throw new Error(`aws ${args.join(' ')} succeeded but was expected to fail`);
  };
  cli.dispose = () => rm(configDir, { recursive: true, force: true });
  return cli;
}
