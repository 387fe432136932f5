// Composition root of one Cairn node (STYLE.md §3): opens the data directory and builds every
// layer from the bottom up. Only tools/ reads configuration; everything below gets it passed in.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LevelMetaStore, type MetaStore } from '../blockstore/meta/index.js';
import { openChunkStore, type ChunkStore } from '../blockstore/chunks/index.js';
import { BlobStore } from '../blockstore/blobs/index.js';
import { FileJournalStore, VolumeService } from '../blockstore/volumes/index.js';
import { deriveSalt } from '../dedup/index.js';
import { BucketService } from '../gateway/service/buckets.js';
import { ObjectService } from '../gateway/service/objects.js';
import { MultipartService } from '../gateway/service/multipart.js';
import type { S3Services } from '../gateway/routes/context.js';
import { loadSecrets } from './keys.js';
import { UserRegistry } from './users.js';
import { openCompute, type Compute } from '../compute/index.js';

export interface NodeConfig {
  dataDir: string;
  region: string;
  location: string;
  logger?: Logger;
}

export interface CairnNode {
  config: NodeConfig;
  meta: MetaStore;
  chunks: ChunkStore;
  blobs: BlobStore;
  users: UserRegistry;
  s3: S3Services;
  compute: Compute;
  volumes: VolumeService;
  close(): Promise<void>;
}

export async function openNode(config: NodeConfig): Promise<CairnNode> {
  const secrets = await loadSecrets(config.dataDir);
  const meta = await LevelMetaStore.open(join(config.dataDir, 'meta'));
  const chunks = await openChunkStore({ dir: join(config.dataDir, 'chunks'), meta });
  const salts = new Map<number, Buffer>();
  const saltFor = (index: number): Buffer => {
    let salt = salts.get(index);
    if (!salt) salts.set(index, (salt = deriveSalt(secrets.saltSecret, index)));
    return salt;
  };
  const blobs = new BlobStore({ chunks, masterKey: secrets.masterKey, randomBytes, saltFor });
  const clock = () => Date.now();
  const users = await UserRegistry.open(meta, secrets.masterKey);
  const buckets = new BucketService(meta, clock, config.region);
  const compute = await openCompute({ meta, blobs, region: config.region, clock, logger: config.logger });
  const collectGarbage = runtimeGc();
  const objects = new ObjectService({ meta, blobs, clock, location: config.location, events: compute.events, collectGarbage });
  // Upload ids never start with '-': CLIs would read `--upload-id -x…` as another option.
  const multipart = new MultipartService({ meta, blobs, objects, clock,
    newUploadId: () => `U${randomBytes(24).toString('base64url')}`, prewarm: compute.prewarm });
  const volumes = await VolumeService.open({
    meta, chunks, journals: new FileJournalStore(join(config.dataDir, 'volumes')), masterKey: secrets.masterKey,
    saltFor, clock, newId: () => randomBytes(12).toString('hex'), location: config.location,
  });
  return {
    config, meta, chunks, blobs, users, compute, volumes,
    s3: { buckets, objects, multipart, blobs, meta, region: config.region, collectGarbage },
    async close() {
      await compute.close();
      await volumes.close();
      await chunks.close();
      await meta.close();
    },
  };
}

/**
 * V8's full GC, which node offers only when started with --expose-gc (tools/cairn does). The
 * gateway asks for it after multi-GiB transfers (gatewayLimits.collectGarbageBytes): V8's own
 * heuristics let their promoted garbage hold ~60 MiB of RSS, and a flag that collects sooner for
 * the whole process (--heap-growing-percent) cost volume reads a third of their IOPS.
 */
function runtimeGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  return typeof gc === 'function' ? () => gc() : undefined;
}
