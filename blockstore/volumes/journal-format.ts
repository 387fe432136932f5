// The write journal's record format (STYLE.md §5). One journal file per (volume, journal number);
// a number is never reused, so each file has its own key and every record a unique nonce (its
// sequence number) — AES-256-GCM's one rule (NIST SP 800-38D §8). Records are encrypted because
// the journal holds plaintext blocks; the header is authenticated as AAD.
//
// Record: header (32 bytes, clear) ‖ ciphertext of the payload ‖ GCM tag (16 bytes)
//   header: magic u32 'CJR1' | kind u8 (1 write, 2 zero, 3 ref to one whole-chunk-sealed block as
//           the oldest builds wrote, 4 refs to a run of pages4k-sealed blocks as earlier builds
//           wrote, 5 refs to a run of pages16k-sealed blocks) | 3 zero bytes | seq u64 | offset u64 |
//           length u32 (bytes of volume covered) | payloadBytes u32 (= length for write, 0 for zero,
//           64 for ref)
// A ref record says "blocks offset/64 KiB, … now hold chunks id (32 bytes) with key (32 bytes), one
// 64-byte entry per block of `length`" (kind 3: exactly one block): whole
// block writes are sealed and put before their record is appended, so the journal never names a
// chunk that is not durable, and their data is encrypted and written once.
// Replay stops at the first record that is short, out of sequence or fails authentication: that
// is a torn tail, and everything after it was never acknowledged as durable.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { assert, isChunkId, type ChunkId } from '../../dedup/index.js';
import type { SealFormat } from './deps.js';
import { journalRecordPayloadBytesMax, volumeBlockBytes } from './limits.js';
import type { VolumeId } from './records.js';

export const journalHeaderBytes = 32;
export const journalTagBytes = 16;
const magic = 0x434a5231; // 'CJR1'

export type JournalRecord =
  | { kind: 'write'; offset: number; data: Buffer }
  | { kind: 'zero'; offset: number; length: number }
  /** Blocks index, index + 1, … hold refs[0], refs[1], …, all sealed alike (`seal`). */
  | { kind: 'ref'; index: number; refs: Array<{ id: ChunkId; key: Buffer }>; seal: SealFormat };

const kindWords = { write: 0x01000000, zero: 0x02000000 } as const;
const refKindWords: Readonly<Record<SealFormat, number>> = { chunk: 0x03000000, pages4k: 0x04000000, pages16k: 0x05000000 };
const sealOfRefKindWord = new Map(Object.entries(refKindWords).map(([seal, word]) => [word, seal as SealFormat]));
const refEntryBytes = 64;
/** Blocks one ref record names: an NBD request's worth (32 MiB), so a payload is ≤ 32 KiB. */
export const refsPerRecordMax = 512;

export function journalKeyOf(masterKey: Buffer, volume: VolumeId, journalNumber: number): Buffer {
  assert(Number.isSafeInteger(journalNumber) && journalNumber > 0, 'journal numbers start at 1');
  return createHmac('sha256', masterKey).update(`cairn volume journal v1\0${volume}\0${journalNumber}`).digest();
}

function nonceOf(seq: number): Buffer {
  // allocUnsafe: a slice of node's shared pool, every byte written here (Buffer.alloc made an
  // ArrayBuffer per record: a third of a 4 KiB record's decode time, with the concat below).
  const nonce = Buffer.allocUnsafe(12);
  nonce.writeUInt32BE(0, 0);
  nonce.writeBigUInt64BE(BigInt(seq), 4);
  return nonce;
}

/** Encodes one record as the pieces to write, in order (header, ciphertext, tag), so the
 * ciphertext of a large write is not copied again into one buffer. The pieces are fresh (they
 * never alias `record.data`). */
export function encodeJournalRecord(key: Buffer, seq: number, record: JournalRecord): Buffer[] {
  assert(Number.isSafeInteger(seq) && seq > 0, 'sequence numbers start at 1');
  const payload = record.kind === 'write' ? record.data : record.kind === 'ref' ? refPayload(record) : undefined;
  const length = record.kind === 'write' ? record.data.length : record.kind === 'ref' ? record.refs.length * volumeBlockBytes : record.length;
  const offset = record.kind === 'ref' ? record.index * volumeBlockBytes : record.offset;
  const payloadBytes = payload?.length ?? 0;
  const header = Buffer.allocUnsafe(journalHeaderBytes);
  header.writeUInt32BE(magic, 0);
  header.writeUInt32BE(record.kind === 'ref' ? refKindWords[record.seal] : kindWords[record.kind], 4);
  header.writeBigUInt64BE(BigInt(seq), 8);
  header.writeBigUInt64BE(BigInt(offset), 16);
  header.writeUInt32BE(length, 24);
  header.writeUInt32BE(payloadBytes, 28);
  const cipher = createCipheriv('aes-256-gcm', key, nonceOf(seq), { authTagLength: journalTagBytes });
  cipher.setAAD(header);
  const pieces = [header];
  if (payload) pieces.push(cipher.update(payload));
  const last = cipher.final();
  if (last.length > 0) pieces.push(last);
  pieces.push(cipher.getAuthTag());
  assert(pieces.reduce((sum, piece) => sum + piece.length, 0) === journalHeaderBytes + payloadBytes + journalTagBytes,
    'record length is header + payload + tag');
  return pieces;
}

/** Bytes of the record whose header is `header` (header + payload + tag), or undefined when the
 * header is not one (a torn or foreign tail). */
export function recordBytesOf(header: Buffer): number | undefined {
  if (header.length < journalHeaderBytes || header.readUInt32BE(0) !== magic) return undefined;
  const kindWord = header.readUInt32BE(4);
  if (kindWord !== kindWords.write && kindWord !== kindWords.zero && !sealOfRefKindWord.has(kindWord)) return undefined;
  const payloadBytes = header.readUInt32BE(28);
  if (payloadBytes > journalRecordPayloadBytesMax) return undefined;
  return journalHeaderBytes + payloadBytes + journalTagBytes;
}

/** Decodes and authenticates one whole record; undefined when it does not authenticate or is
 * not the record `seq` (when given). Write payloads are fresh buffers. */
export function decodeJournalRecord(key: Buffer, bytes: Buffer, seq?: number): JournalRecord | undefined {
  const total = recordBytesOf(bytes);
  if (total === undefined || total !== bytes.length) return undefined;
  const header = bytes.subarray(0, journalHeaderBytes);
  const recordSeq = header.readBigUInt64BE(8);
  if (seq !== undefined && recordSeq !== BigInt(seq)) return undefined;
  if (recordSeq < 1n || recordSeq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const kindWord = header.readUInt32BE(4);
  const offset = Number(header.readBigUInt64BE(16));
  const length = header.readUInt32BE(24);
  const payloadBytes = header.readUInt32BE(28);
  const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(Number(recordSeq)), { authTagLength: journalTagBytes });
  decipher.setAAD(header);
  decipher.setAuthTag(bytes.subarray(total - journalTagBytes));
  let payload: Buffer;
  try {
    const body = decipher.update(bytes.subarray(journalHeaderBytes, total - journalTagBytes));
    const last = decipher.final();
    payload = last.length === 0 ? body : Buffer.concat([body, last]); // GCM: final is empty, body is fresh
  } catch {
    return undefined; // torn or overwritten
  }
  if (kindWord === kindWords.write) return payloadBytes === length ? { kind: 'write', offset, data: payload } : undefined;
  const seal = sealOfRefKindWord.get(kindWord);
  if (seal !== undefined) {
    const count = payloadBytes / refEntryBytes;
    assert(Number.isInteger(count) && count >= 1 && count <= refsPerRecordMax && (seal !== 'chunk' || count === 1) && length === count * volumeBlockBytes
      && offset % volumeBlockBytes === 0, 'an authenticated ref record names whole blocks, one entry each');
    const refs = [];
    for (let at = 0; at < payload.length; at += refEntryBytes) {
      const id = payload.subarray(at, at + 32).toString('hex');
      assert(isChunkId(id), 'a ref entry names a chunk');
      refs.push({ id, key: Buffer.from(payload.subarray(at + 32, at + refEntryBytes)) });
    }
    return { kind: 'ref', index: offset / volumeBlockBytes, refs, seal };
  }
  return { kind: 'zero', offset, length };
}

/** Streams the valid prefix of a journal: visits each record with its position and size, in
 * order, through `read` (sequential positions), stopping at the first torn or out-of-sequence
 * record. Memory is one record at a time. */
export async function scanJournal(key: Buffer, read: (position: number, length: number) => Promise<Buffer>,
  visit: (record: JournalRecord, at: number, bytes: number) => Promise<void>): Promise<void> {
  let at = 0;
  for (let seq = 1; ; seq++) {
    const bytes = recordBytesOf(await read(at, journalHeaderBytes));
    if (bytes === undefined) return;
    const record = decodeJournalRecord(key, await read(at, bytes), seq);
    if (record === undefined) return;
    await visit(record, at, bytes);
    at += bytes;
  }
}

function refPayload(record: Extract<JournalRecord, { kind: 'ref' }>): Buffer {
  assert(record.refs.length >= 1 && record.refs.length <= refsPerRecordMax && (record.seal !== 'chunk' || record.refs.length === 1),
    'a ref record names 1..refsPerRecordMax blocks (one, unpaged)');
  const payload = Buffer.allocUnsafe(record.refs.length * refEntryBytes);
  record.refs.forEach((ref, at) => {
    assert(isChunkId(ref.id) && ref.key.length === 32, 'a ref names a chunk and its 32-byte key');
    payload.write(ref.id, at * refEntryBytes, 'hex');
    ref.key.copy(payload, at * refEntryBytes + 32);
  });
  return payload;
}
