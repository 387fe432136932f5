// The root user's key pair: from CAIRN_ROOT_ACCESS_KEY / CAIRN_ROOT_SECRET_KEY when given,
// else generated on first start, saved (mode 0600) beside the data and printed once.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CairnNode } from './node.js';

export interface RootCredentials { accessKeyId: string; secretAccessKey: string; created: boolean }

export async function ensureRootCredentials(node: CairnNode, options: { dataDir: string; rootAccessKey?: string; rootSecretKey?: string }): Promise<RootCredentials> {
  const file = join(options.dataDir, 'root-credentials.json');
  if (options.rootAccessKey && options.rootSecretKey) {
    const known = node.users.lookup(options.rootAccessKey);
    if (!known) await node.users.add('root', Date.now(), { accessKeyId: options.rootAccessKey, secretAccessKey: options.rootSecretKey });
    else if (known.secretAccessKey !== options.rootSecretKey || known.userId !== 'root') throw new Error('CAIRN_ROOT_ACCESS_KEY is already registered with another secret or user');
    await saveCredentials(file, { accessKeyId: options.rootAccessKey, secretAccessKey: options.rootSecretKey });
    return { accessKeyId: options.rootAccessKey, secretAccessKey: options.rootSecretKey, created: false };
  }
  const existing = node.users.rootKey();
  if (existing) return { ...existing, created: false };
  const key = await node.users.add('root', Date.now());
  await saveCredentials(file, key);
  return { ...key, created: true };
}

export async function readRootCredentials(dataDir: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  return JSON.parse(await readFile(join(dataDir, 'root-credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
}

/** The CLI signs admin requests with these; the file is the operator's, mode 0600. */
async function saveCredentials(file: string, key: { accessKeyId: string; secretAccessKey: string }): Promise<void> {
  await writeFile(file, JSON.stringify({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
}
