// Seed 6 (saved machine states): images of initialised environments live in the blockstore,
// cut on 4 KiB page boundaries (WasmImageV1 keeps every page on a 4 KiB file offset, so the
// same page of two images is the same chunk), keyed by function version, revision and engine
// build. A restarted node restores from here instead of initialising again.
import type { BlobStore } from '../../blockstore/blobs/index.js';
import type { MetaStore } from '../../blockstore/meta/index.js';
import { assert } from '../../dedup/errors.js';
import { decodeJson, encodeJson, headKey, snapshotKey, type FunctionConfigV1, type SnapshotRecordV1 } from './records.js';

const pageBytes = 4096;

export class SnapshotStore {
  constructor(private readonly meta: MetaStore, private readonly blobs: BlobStore, private readonly clock: () => number) {}

  async load(config: FunctionConfigV1, buildHash: string): Promise<Uint8Array | undefined> {
    const bytes = await this.meta.get(snapshotKey(config, buildHash));
    if (!bytes) return undefined;
    const record = decodeJson<SnapshotRecordV1>(bytes, 'snapshot');
    const image = await this.blobs.readAll(this.blobs.openManifest(Buffer.from(record.sealedManifest, 'base64')));
    assert(image.length === record.size, 'snapshot image length matches its record');
    return image;
  }

  /** Stores an image unless the function changed meanwhile (its head no longer names this revision). */
  async save(config: FunctionConfigV1, buildHash: string, image: Uint8Array): Promise<{ stored: boolean; bytes: number; chunks: number }> {
    const blocks: Buffer[] = [];
    const whole = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    for (let offset = 0; offset < whole.length; offset += pageBytes) blocks.push(whole.subarray(offset, Math.min(whole.length, offset + pageBytes)));
    const written = await this.blobs.writeBlocks(blocks, 0);
    const head = await this.meta.get(headKey(config.account, config.name));
    const current = head ? decodeJson<{ version: 1; latest: FunctionConfigV1 }>(head, 'function').latest : undefined;
    if (!current || (config.functionVersion === '$LATEST' && current.revisionId !== config.revisionId)) {
      this.blobs.abandon(written);
      return { stored: false, bytes: image.byteLength, chunks: 0 };
    }
    const record: SnapshotRecordV1 = { version: 1, sealedManifest: this.blobs.sealManifest(written.manifest).toString('base64'), size: image.byteLength, createdMs: this.clock() };
    const key = snapshotKey(config, buildHash);
    const previous = await this.meta.get(key);
    if (previous) {
      this.blobs.abandon(written); // a concurrent environment stored the same version first
      return { stored: false, bytes: image.byteLength, chunks: 0 };
    }
    await this.blobs.chunks.commit(written.refDeltas, [{ type: 'put', key, value: encodeJson(record) }]);
    return { stored: true, bytes: image.byteLength, chunks: written.refDeltas.size };
  }
}
