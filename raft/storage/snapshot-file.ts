// SnapshotV1 on disk: ["RSN1"][crc32 u32 LE of the rest][meta length u32 LE][meta JSON][data].
// Written to a temporary file, fsynced, renamed over the old one, and the directory fsynced, so a
// crash leaves either the old snapshot or the new one, never a mix (POSIX rename atomicity).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert, type Membership, type Snapshot, type SnapshotMeta, logIndex, nodeId, term } from '../core/index.js';

const magic = [0x52, 0x53, 0x4e, 0x31]; // "RSN1"
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface SnapshotMetaV1 {
  readonly version: 1;
  readonly index: number;
  readonly term: number;
  readonly voters: number[];
  readonly learners: number[];
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const meta: SnapshotMetaV1 = {
    version: 1, index: snapshot.meta.index, term: snapshot.meta.term,
    voters: [...snapshot.meta.membership.voters], learners: [...snapshot.meta.membership.learners],
  };
  const metaBytes = encoder.encode(JSON.stringify(meta));
  const bytes = new Uint8Array(12 + metaBytes.length + snapshot.data.length);
  const view = new DataView(bytes.buffer);
  bytes.set(magic, 0);
  view.setUint32(8, metaBytes.length, true);
  bytes.set(metaBytes, 12);
  bytes.set(snapshot.data, 12 + metaBytes.length);
  view.setUint32(4, crc32(bytes.subarray(8)), true);
  return bytes;
}

/** A snapshot is only ever replaced by rename, so a bad one is disk corruption: fail loudly. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.length >= 12 && magic.every((byte, k) => bytes[k] === byte), 'snapshot file has no RSN1 header');
  assert(crc32(bytes.subarray(8)) === view.getUint32(4, true), 'snapshot file fails its CRC');
  const metaLength = view.getUint32(8, true);
  const meta = JSON.parse(decoder.decode(bytes.subarray(12, 12 + metaLength))) as SnapshotMetaV1;
  assert(meta.version === 1, `snapshot version ${String(meta.version)} unknown`);
  const membership: Membership = { voters: meta.voters.map(nodeId), learners: meta.learners.map(nodeId) };
  const snapshotMeta: SnapshotMeta = { index: logIndex(meta.index), term: term(meta.term), membership };
  return { meta: snapshotMeta, data: Uint8Array.from(bytes.subarray(12 + metaLength)) };
}

export function writeFileAtomically(directory: string, name: string, bytes: Uint8Array): void {
  const temporary = join(directory, `${name}.tmp`);
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, join(directory, name));
  syncDirectory(directory);
}

export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readSnapshotFile(directory: string, name: string): Snapshot | null {
  const path = join(directory, name);
  return existsSync(path) ? decodeSnapshot(readFileSync(path)) : null;
}
