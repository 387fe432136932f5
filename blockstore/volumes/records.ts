// Persisted formats of the volumes layer (STYLE.md §5) and their MetaStore key layout ('v/').
//   v/vol/<name>               VolumeRecordV1 (JSON)
//   v/snap/<volume>/<snap>     SnapshotRecordV1 (JSON)
//   v/layer/<layerId>          LayerRecordV1 (JSON): one generation of a block map
//   v/blk/<layerId>/<index>    BlockEntryV1 (binary): block index (12 hex digits) → chunk id + wrapped key
//                              [+ seal byte: absent = whole-chunk seal (oldest builds), 1 = pages4k, 2 = pages16k]
//   v/jrn/<volumeId>           JournalStateV1 (JSON): journals up to foldedThrough are in the map
// A chunk key is never stored in the clear: it is wrapped with AES-KW (RFC 3394), keyed by a key
// derived from the node's master key. AES-KW is deterministic, which reveals only key equality —
// already public through chunk id equality.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { assert, isChunkId, type ChunkId, type PagedFormat, type SaltPolicyV1 } from '../../dedup/index.js';
import type { SealFormat } from './deps.js';
import { volumeBytesMax, volumeSizeGranuleBytes } from './limits.js';

export type VolumeId = string & { readonly __brand: 'VolumeId' };
export type LayerId = string & { readonly __brand: 'LayerId' };

export interface VolumeRecordV1 {
  version: 1;
  name: string;
  id: VolumeId;
  sizeBytes: number;
  /** The writable layer; its ancestors are frozen (snapshots, or the image a clone came from). */
  head: LayerId;
  saltPolicy: SaltPolicyV1;
  /** The user whose salt context a 'user' policy uses. */
  owner: string;
  createdMs: number;
  /** `VOLUME@SNAP` this volume was cloned from, for display only. */
  origin?: string;
}

export interface SnapshotRecordV1 {
  version: 1;
  volume: string;
  name: string;
  layer: LayerId;
  sizeBytes: number;
  createdMs: number;
}

/** A layer holds the entries written while it was a head. holders = snapshots + volume heads
 * pointing at it; children = layers whose parent it is. Both zero ⇒ the layer is dropped. */
export interface LayerRecordV1 {
  version: 1;
  id: LayerId;
  parent: LayerId | null;
  children: LayerId[];
  holders: number;
}

export interface JournalStateV1 { version: 1; foldedThrough: number }

/** A block map entry: the chunk holding the block, or null = explicit hole (hides an ancestor's). */
export type BlockRef = { id: ChunkId; key: Buffer; seal: SealFormat } | null;

export const volumeKey = (name: string): string => `v/vol/${name}`;
export const volumePrefix = 'v/vol/';
export const snapshotKey = (volume: string, snap: string): string => `v/snap/${volume}/${snap}`;
export const snapshotPrefix = (volume: string): string => `v/snap/${volume}/`;
export const layerKey = (id: LayerId): string => `v/layer/${id}`;
export const layerPrefix = 'v/layer/';
export const blockPrefix = (layer: LayerId): string => `v/blk/${layer}/`;
export const blockKey = (layer: LayerId, index: number): string => `v/blk/${layer}/${index.toString(16).padStart(12, '0')}`;
export const journalStateKey = (volume: VolumeId): string => `v/jrn/${volume}`;

export function blockIndexOfKey(key: string): number {
  const index = Number.parseInt(key.slice(key.lastIndexOf('/') + 1), 16);
  assert(Number.isSafeInteger(index) && index >= 0, `bad block key ${key}`);
  return index;
}

export function encodeJson(record: object): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decodeVolume(bytes: Buffer): VolumeRecordV1 {
  const record = JSON.parse(bytes.toString()) as VolumeRecordV1;
  assert(record.version === 1, `unknown volume record version ${String(record.version)}`);
  assert(Number.isSafeInteger(record.sizeBytes) && record.sizeBytes % volumeSizeGranuleBytes === 0 && record.sizeBytes <= volumeBytesMax,
    'volume record size is whole blocks within bounds');
  return record;
}

export function decodeSnapshot(bytes: Buffer): SnapshotRecordV1 {
  const record = JSON.parse(bytes.toString()) as SnapshotRecordV1;
  assert(record.version === 1, `unknown snapshot record version ${String(record.version)}`);
  return record;
}

export function decodeLayer(bytes: Buffer): LayerRecordV1 {
  const record = JSON.parse(bytes.toString()) as LayerRecordV1;
  assert(record.version === 1 && Array.isArray(record.children) && record.holders >= 0, 'layer record is well formed');
  return record;
}

export function decodeJournalState(bytes: Buffer | undefined): JournalStateV1 {
  if (!bytes) return { version: 1, foldedThrough: 0 };
  const record = JSON.parse(bytes.toString()) as JournalStateV1;
  assert(record.version === 1 && Number.isSafeInteger(record.foldedThrough), 'journal state is well formed');
  return record;
}

const wrapIv = Buffer.from('a6a6a6a6a6a6a6a6', 'hex'); // RFC 3394 §2.2.3.1 default IV
const holeEntry = Buffer.from([0]);
const entryBytes = 32 + 40;
/** Trailing byte of an entry whose chunk is paged-sealed, naming the format; entries without it
 * (72 bytes, written before the paged seal existed) name whole-chunk-sealed blocks. */
const pagedSealBytes: Readonly<Record<PagedFormat, number>> = { pages4k: 1, pages16k: 2 };
const pagedFormatOfByte = new Map(Object.entries(pagedSealBytes).map(([format, byte]) => [byte, format as PagedFormat]));

/** Encodes block map entries under one key-encryption key (derived once per service). */
export class BlockEntryCodec {
  private readonly kek: Buffer;

  constructor(masterKey: Buffer) {
    assert(masterKey.length === 32, 'master key is 32 bytes');
    this.kek = createHmac('sha256', masterKey).update('cairn volume map key v1').digest();
  }

  encode(ref: BlockRef): Buffer {
    if (ref === null) return holeEntry;
    assert(isChunkId(ref.id) && ref.key.length === 32, 'a block entry names a chunk and a 32-byte key');
    const cipher = createCipheriv('id-aes256-wrap', this.kek, wrapIv);
    const wrapped = Buffer.concat([cipher.update(ref.key), cipher.final()]);
    const sealByte = ref.seal === 'chunk' ? [] : [Buffer.from([pagedSealBytes[ref.seal]])];
    const encoded = Buffer.concat([Buffer.from(ref.id, 'hex'), wrapped, ...sealByte]);
    assert(encoded.length === entryBytes + sealByte.length, 'an encoded entry is 72 bytes, + 1 for a paged seal');
    return encoded;
  }

  decode(bytes: Buffer): BlockRef {
    if (bytes.length === 1 && bytes[0] === 0) return null;
    const seal: SealFormat | undefined = bytes.length === entryBytes ? 'chunk' : bytes.length === entryBytes + 1 ? pagedFormatOfByte.get(bytes[entryBytes]) : undefined;
    assert(seal !== undefined, `block entry of ${bytes.length} bytes`);
    const decipher = createDecipheriv('id-aes256-wrap', this.kek, wrapIv);
    const key = Buffer.concat([decipher.update(bytes.subarray(32, entryBytes)), decipher.final()]);
    return { id: bytes.subarray(0, 32).toString('hex') as ChunkId, key, seal };
  }
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export function isValidName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 128 && namePattern.test(name);
}
