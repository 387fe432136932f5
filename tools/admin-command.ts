// Admin commands from the CLI: against the running node through its admin API when one serves
// this data directory (LevelDB admits one process), else directly on the opened directory.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminPrefix, runAdminAction, type AdminAction } from './admin-api.js';
import { signAdminRequest } from './admin-sign.js';
import { readRootCredentials } from './root-credentials.js';

export interface AdminCommandOptions { dataDir: string; region: string; salts?: string; by?: string; window?: string; size?: string }

function route(command: string, args: string[], options: AdminCommandOptions): { method: string; path: string; query: Record<string, string> } {
  const words = [command, ...args];
  if (words[0] === 'user' && words[1] === 'add' && words[2]) return { method: 'POST', path: '/users', query: { name: words[2] } };
  if (words[0] === 'user' && words[1] === 'list') return { method: 'GET', path: '/users', query: {} };
  if (words[0] === 'bucket' && words[1] === 'redundancy' && words[2]) {
    if (!options.salts || !options.by) throw new Error('bucket redundancy needs --salts R --by user|time|location');
    return { method: 'PUT', path: '/redundancy', query: { bucket: words[2], salts: options.salts, by: options.by, ...(options.window ? { window: options.window } : {}) } };
  }
  if (words[0] === 'gc' || words[0] === 'scrub') return { method: 'POST', path: `/${words[0]}`, query: {} };
  if (words[0] === 'stats') return { method: 'GET', path: '/stats', query: {} };
  if (words[0] === 'volume') return volumeRoute(words.slice(1), options);
  throw new Error(`unknown command: ${words.join(' ')} (cairn --help)`);
}

/** `cairn volume …` → admin route; sizes travel as typed ("10G") and are parsed by the API. */
function volumeRoute(words: string[], options: AdminCommandOptions): { method: string; path: string; query: Record<string, string> } {
  const [verb, first, second] = words;
  const needSize = (): string => {
    if (!options.size) throw new Error(`volume ${verb} needs --size SIZE (K/M/G/T suffixes)`);
    return options.size;
  };
  if (verb === 'create' && first) return { method: 'POST', path: '/volumes', query: { name: first, size: needSize() } };
  if (verb === 'list') return { method: 'GET', path: '/volumes', query: {} };
  if (verb === 'info' && first) return { method: 'GET', path: '/volume', query: { name: first } };
  if (verb === 'resize' && first) return { method: 'PUT', path: '/volume/size', query: { name: first, size: needSize() } };
  if (verb === 'delete' && first) return { method: 'POST', path: '/volume/delete', query: { name: first } };
  if (verb === 'snapshot' && first && second) return { method: 'POST', path: '/snapshots', query: { name: first, snap: second } };
  if (verb === 'snapshots' && first) return { method: 'GET', path: '/snapshots', query: { name: first } };
  if (verb === 'clone' && first && second) return { method: 'POST', path: '/clones', query: { source: first, name: second } };
  throw new Error(`unknown command: volume ${words.join(' ')} (cairn --help)`);
}

async function runningEndpoint(dataDir: string): Promise<string | undefined> {
  try {
    const { s3, pid } = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as { s3: string; pid: number };
    process.kill(pid, 0);
    return s3;
  } catch {
    return undefined;
  }
}

export async function runAdminCommand(command: string, args: string[], options: AdminCommandOptions): Promise<unknown> {
  const { method, path, query } = route(command, args, options);
  const endpoint = await runningEndpoint(options.dataDir);
  if (endpoint) {
    const url = new URL(adminPrefix + path, endpoint);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const root = await readRootCredentials(options.dataDir);
    const headers = signAdminRequest({ method, url, ...root, region: options.region, now: new Date() });
    const response = await fetch(url, { method, headers });
    const body = await response.json() as Record<string, unknown>;
    if (!response.ok) throw new Error(`${String(body.error)}: ${String(body.message)}`);
    return body;
  }
  // Opening the node loads every layer; only the offline path pays for it.
  const [{ parseAdminAction }, { openNode }] = await Promise.all([import('./admin-api.js'), import('./node.js')]);
  const action: AdminAction = parseAdminAction(method, adminPrefix + path, query);
  const node = await openNode({ dataDir: options.dataDir, region: options.region, location: 'local' });
  try {
    return await runAdminAction(node, action);
  } finally {
    await node.close();
  }
}
