// Child process of crash.test.ts: opens the store (recovering whatever the previous kill left),
// then runs concurrent writers and a background GC until it is killed with SIGKILL. It prints a
// line only after the operation is acknowledged (stdout to a pipe is synchronous on Linux, so a
// printed line was acknowledged before the kill):
//   P <tag> <length> <id>   put acknowledged; bytes = chunkBytes(tag, length)
//   U <id>                  writer aborted and unpinned id
//   C <object> <id>         commit acknowledged: o/<object> → id, count +1
//   X <object>              about to delete o/<object> (not yet acknowledged)
//   D <object>              commit acknowledged: o/<object> deleted, count −1
//   E <message>             unexpected error (fails the test)
// Usage: node --import tsx crash-child.ts <root> <seed> <limits as JSON>
import { join } from 'node:path';
import { LevelMetaStore } from '../meta/level-meta-store.js';
import { chunkIdOf, type ChunkId } from './chunk-id.js';
import { chunkBytes } from './test-bytes.js';
import type { ChunkStoreLimits } from './limits.js';
import { openChunkStore } from './segment-chunk-store.js';
import { SeededRandom } from './seeded-random.js';

const writersCount = 16;

async function main(): Promise<void> {
  const [root, seedText, limitsJson] = process.argv.slice(2);
  const crashLimits = JSON.parse(limitsJson) as Partial<ChunkStoreLimits>;
  const seed = Number(seedText);
  const random = new SeededRandom(seed);
  const meta = await LevelMetaStore.open(join(root, 'meta'));
  const store = await openChunkStore({ dir: join(root, 'segments'), meta, limits: crashLimits });
  const print = (line: string): void => { process.stdout.write(`${line}\n`); };
  const objects: Array<{ name: string; id: ChunkId; tag: string; length: number }> = [];
  let counter = 0;

  const writeObject = async (): Promise<void> => {
    const reuse = objects.length > 0 && random.next() < 0.2 ? objects[random.between(0, objects.length - 1)] : undefined;
    const tag = reuse?.tag ?? `s${seed}-${counter++}`;
    const length = reuse?.length ?? random.between(200, 24_000);
    const bytes = chunkBytes(tag, length);
    const id = chunkIdOf(bytes);
    await store.put(id, bytes);
    print(`P ${tag} ${length} ${id}`);
    if (random.next() < 0.3) { store.unpin([id]); print(`U ${id}`); return; } // an aborted writer
    const name = `s${seed}-${counter++}`;
    await store.commit(new Map([[id, 1]]), [{ type: 'put', key: `o/${name}`, value: Buffer.from(id) }]);
    objects.push({ name, id, tag, length });
    print(`C ${name} ${id}`);
  };

  const deleteObject = async (): Promise<void> => {
    const index = random.between(0, objects.length - 1);
    const [object] = objects.splice(index, 1); // taken synchronously so no two writers delete it
    print(`X ${object.name}`); // intent: from here the object may be gone even if D never prints
    await store.commit(new Map([[object.id, -1]]), [{ type: 'del', key: `o/${object.name}` }]);
    print(`D ${object.name}`);
  };

  const writer = async (): Promise<void> => {
    for (;;) {
      if (objects.length > 4 && random.next() < 0.15) await deleteObject();
      else await writeObject();
    }
  };

  const collector = async (): Promise<void> => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 15));
      await store.gc();
    }
  };

  print('ready');
  await Promise.all([...Array.from({ length: writersCount }, writer), collector()]);
}

main().catch((error: unknown) => {
  process.stdout.write(`E ${error instanceof Error ? error.stack?.replace(/\n/g, ' | ') : String(error)}\n`);
  process.exit(1);
});
