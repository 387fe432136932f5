// The node's secrets in its data directory, each a file of mode 0600: the master key (wraps
// manifest data keys and seals the other secrets) and the deployment's salt secret (seed 2).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CairnError } from '../dedup/errors.js';

async function readOrCreate(path: string, create: () => Buffer): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = create();
  await writeFile(path, value, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return value;
}

export interface NodeSecrets {
  masterKey: Buffer;
  saltSecret: Buffer;
}

export async function loadSecrets(dataDir: string): Promise<NodeSecrets> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const masterKey = await readOrCreate(join(dataDir, 'master.key'), () => randomBytes(32));
  if (masterKey.length !== 32) throw new CairnError('BadMasterKey', 'master.key must hold exactly 32 bytes');
  const sealedSalt = await readOrCreate(join(dataDir, 'salt-secret.sealed'), () => sealSecret(masterKey, randomBytes(32)));
  return { masterKey, saltSecret: openSecret(masterKey, sealedSalt) };
}

/** AES-256-GCM with a random nonce: nonce ‖ ciphertext ‖ tag. */
export function sealSecret(masterKey: Buffer, secret: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
  const body = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function openSecret(masterKey: Buffer, sealed: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch (error) {
    throw new CairnError('SecretCorrupt', 'a sealed secret does not open with this master key', { cause: error });
  }
}
