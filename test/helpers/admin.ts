// Calls the running node's admin API directly (signed as root), for tests that need many admin
// calls; the CLI path is covered by tests that run `cairn` itself.
import { signAdminRequest } from '../../tools/admin-sign.js';
import type { CairnProcess } from './cairn-process.js';

export async function adminCall<T>(cairn: CairnProcess, method: string, path: string, query: Record<string, string> = {}): Promise<T> {
  const url = new URL(`/_cairn/admin${path}`, cairn.endpoint);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const headers = signAdminRequest({ method, url, accessKeyId: cairn.accessKeyId, secretAccessKey: cairn.secretAccessKey, region: 'us-east-1', now: new Date() });
  const response = await fetch(url, { method, headers });
  const body = await response.json() as T;
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${JSON.stringify(body)}`);
  return body;
}
