// Crash safety of SegmentChunkStore, for real. Method: a child process (crash-child.ts) runs 16
// concurrent writers (puts, commits of objects, deletes, aborts) and a background GC on a store
// with 256 KiB segments, printing each acknowledged operation. We SIGKILL it at a seeded random
// instant, reopen the store (recovery), and check: every acknowledged, still-needed chunk reads
// back byte-identical; every reference count equals the number of surviving objects naming the
// chunk (counts and object metadata committed atomically); acknowledged commits and deletes are
// visible; scrub is clean; gc frees exactly the unreferenced chunks. Then the next round reopens
// the same directory. Reproduce a failure with the printed seed.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LevelMetaStore } from '../meta/level-meta-store.js';
import { chunkIdOf, type ChunkId } from './chunk-id.js';
import { openChunkStore } from './segment-chunk-store.js';
import { chunkKeyEnd, chunkKeyPrefix, decodeChunkEntryV1 } from './segment-format.js';
import { SeededRandom } from './seeded-random.js';
import { chunkBytes } from './test-bytes.js';

const seed = 20_261_130;
const rounds = 12;
const limits = { segmentBytesMax: 256 * 1024, chunkBytesMax: 60 * 1024, chunkCiphertextBytesMax: 60 * 1024 + 16 };
const childPath = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

const nodeModulesPath = fileURLToPath(new URL('../../node_modules', import.meta.url));

/**
 * The child's command. tsx compiles on every start (~2.5 s here); a one-off esbuild bundle (esbuild
 * ships with tsx and vite) starts in ~0.4 s, which is what keeps 12 rounds under a minute.
 * classic-level stays external (native binding) and resolves through NODE_PATH.
 */
async function childCommand(root: string): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(root, '..', `${basename(root)}-child.cjs`);
    await esbuild.build({ entryPoints: [childPath], bundle: true, platform: 'node', format: 'cjs', outfile, external: ['classic-level'], logLevel: 'error' });
    return { args: [outfile], env: { ...process.env, NODE_PATH: nodeModulesPath } };
  } catch {
    return { args: ['--import', 'tsx', childPath], env: process.env };
  }
}

async function runUntilKilled(command: { args: string[]; env: NodeJS.ProcessEnv }, root: string, childSeed: number, killAfterMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [...command.args, root, String(childSeed), JSON.stringify(limits)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: command.env,
  });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const wasReady = output.includes('ready\n');
    output += text;
    if (!wasReady && output.includes('ready\n')) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => { errors += text; });
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, how) => resolve(how)));
  clearTimeout(guard);
  expect(signal, `child seed ${childSeed} ended on its own: ${errors}\n${output.slice(-2000)}`).toBe('SIGKILL');
  expect(output.includes('ready\n'), `child seed ${childSeed} never became ready: ${errors}`).toBe(true);
  const complete = output.slice(0, output.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((line) => line.length > 0 && line !== 'ready');
}

describe('SegmentChunkStore under kill -9', () => {
  it(`keeps every acknowledged chunk and count across ${rounds} SIGKILLs (seed ${seed})`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'cairn-crash-'));
    const random = new SeededRandom(seed);
    const known = new Map<ChunkId, { tag: string; length: number }>();
    let acknowledged = 0;
    let freedTotal = 0;
    const command = await childCommand(root);
    try {
      for (let round = 0; round < rounds; round++) {
        const childSeed = seed + round;
        const started = performance.now();
        const lines = await runUntilKilled(command, root, childSeed, random.between(50, 500));
        const killed = performance.now();
        const context = `round ${round}, child seed ${childSeed}`;
        expect(lines.filter((line) => line.startsWith('E ')), context).toEqual([]);
        acknowledged += lines.length;
        freedTotal += await verifyAfterCrash(root, lines, known, context);
        console.log(`${context}: ${lines.length} lines, child ${(killed - started).toFixed(0)} ms, verify ${(performance.now() - killed).toFixed(0)} ms`);
      }
      expect(acknowledged).toBeGreaterThan(200);
      expect(freedTotal).toBeGreaterThan(0);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(join(root, '..', `${basename(root)}-child.cjs`), { force: true });
    }
  }, 60_000);
});

async function verifyAfterCrash(root: string, lines: readonly string[], known: Map<ChunkId, { tag: string; length: number }>, context: string): Promise<number> {
  const pinnedAtKill = new Map<ChunkId, number>();
  const committed = new Set<string>();
  const deleted = new Set<string>();
  const deleting = new Set<string>();
  for (const line of lines) {
    const [kind, first, second, third] = line.split(' ');
    if (kind === 'P') {
      const id = third as ChunkId;
      expect(chunkIdOf(chunkBytes(first, Number(second))), context).toBe(id);
      known.set(id, { tag: first, length: Number(second) });
      pinnedAtKill.set(id, (pinnedAtKill.get(id) ?? 0) + 1);
    } else if (kind === 'U') pinnedAtKill.set(first as ChunkId, pinnedAtKill.get(first as ChunkId)! - 1);
    else if (kind === 'C') { committed.add(first); pinnedAtKill.set(second as ChunkId, pinnedAtKill.get(second as ChunkId)! - 1); }
    else if (kind === 'X') deleting.add(first);
    else if (kind === 'D') deleted.add(first);
  }
  const meta = await LevelMetaStore.open(join(root, 'meta'));
  const store = await openChunkStore({ dir: join(root, 'segments'), meta, limits });
  try {
    const objects = new Map<string, ChunkId>();
    for await (const [key, value] of meta.iterate({ gte: 'o/', lt: 'o0' })) objects.set(key.slice(2), value.toString() as ChunkId);
    const expectedCounts = new Map<ChunkId, number>();
    for (const id of objects.values()) expectedCounts.set(id, (expectedCounts.get(id) ?? 0) + 1);
    let unreferenced = 0;
    for await (const [key, value] of meta.iterate({ gte: chunkKeyPrefix, lt: chunkKeyEnd })) {
      const id = key.slice(chunkKeyPrefix.length) as ChunkId;
      const count = decodeChunkEntryV1(value)!.refCount;
      expect(count, `${context}: count of ${id}`).toBe(expectedCounts.get(id) ?? 0);
      if (count === 0) unreferenced++;
    }
    for (const name of committed) if (!deleting.has(name)) expect(objects.has(name), `${context}: object ${name}`).toBe(true);
    for (const name of deleted) expect(objects.has(name), `${context}: deleted ${name}`).toBe(false);
    const mustRead = new Set<ChunkId>(objects.values());
    for (const [id, pins] of pinnedAtKill) if (pins > 0) mustRead.add(id);
    for (const id of mustRead) {
      const { tag, length } = known.get(id)!;
      expect((await store.get(id)).equals(chunkBytes(tag, length)), `${context}: bytes of ${id}`).toBe(true);
    }
    expect(await store.scrub(), context).toMatchObject({ corrupt: [], missing: [] });
    const collected = await store.gc();
    expect(collected.chunksFreed, context).toBe(unreferenced);
    for (const [id, pins] of pinnedAtKill) if (pins > 0 && !expectedCounts.has(id)) expect(await store.has(id), context).toBe(false);
    for (const id of new Set(objects.values())) {
      const { tag, length } = known.get(id)!;
      expect((await store.get(id)).equals(chunkBytes(tag, length)), `${context}: after gc ${id}`).toBe(true);
    }
    expect((await store.stats()).chunks, context).toBe(expectedCounts.size);
    return collected.chunksFreed;
  } finally {
    await store.close();
    await meta.close();
  }
}
