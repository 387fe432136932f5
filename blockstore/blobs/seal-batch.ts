// One batch of seal/open jobs: the message the seal pool sends a worker and gets back, its slot
// layout, and the work itself (runSealBatch, which the worker runs). The bytes of every job
// travel in ONE ArrayBuffer that is transferred both ways: the main thread copies each job's
// input into its slot, the worker overwrites the slot with the output in place, and the same
// buffer comes back — no structured-clone copy and no per-chunk allocation on either side
// beyond what node:crypto itself returns.
//
// Slot layouts (offsets within the slot):
//   seal  in:  [0,32) salt   [64, 64+n) plaintext                   (slot = 64 + n + 16)
//         out: [0,32) id     [32,64) key   [64, 64+n+16) ciphertext
//   open  in:  [0,32) key    [32, 32+n) ciphertext                  (slot = 32 + n)
//         out:               [32, 32+n-16) plaintext
// The same layouts serve dedup's paged block seal (volume blocks; `format` names the page size),
// whose ciphertext is pagedBlockCiphertextBytesOf(format) for a volumeBlockBytes plaintext.
import { isCairnError } from '../../dedup/errors.js';
import {
  dedupLimits, openChunk, openPagedBlock, pagedBlockCiphertextBytesOf, sealChunkInto, sealPagedBlockInto, type PagedFormat,
} from '../../dedup/index.js';

export type SealJobKind = 'seal' | 'open';
/** `chunk`: dedup's whole-chunk convergent seal (objects, older volume blocks); else a paged format. */
export type SealFormat = 'chunk' | PagedFormat;

export interface SealJobSlot {
  kind: SealJobKind;
  format: SealFormat;
  /** Byte offset of the slot in the batch buffer. */
  offset: number;
  /** Input length: plaintext bytes (seal) or ciphertext bytes (open). */
  length: number;
}

export interface SealBatchRequest {
  batch: number;
  buffer: ArrayBuffer;
  slots: SealJobSlot[];
}

/** A job's failure as plain data (errors do not cross threads with their class). */
export interface SealJobFailure {
  name: string;
  code?: string;
  message: string;
}

export interface SealBatchReply {
  batch: number;
  buffer: ArrayBuffer;
  /** One per slot: null when the slot holds the job's output. */
  failures: (SealJobFailure | null)[];
}

export const sealSlotHeadBytes = 2 * dedupLimits.chunkKeyBytes; // room for id + key
export const openSlotHeadBytes = dedupLimits.chunkKeyBytes;

/** Output bytes of a job on `length` input bytes (ciphertext of a seal, plaintext of an open). */
export function outputBytesOf(kind: SealJobKind, format: SealFormat, length: number): number {
  if (format !== 'chunk') return kind === 'seal' ? pagedBlockCiphertextBytesOf(format) : dedupLimits.volumeBlockBytes;
  return kind === 'seal' ? length + dedupLimits.aeadTagBytes : length - dedupLimits.aeadTagBytes;
}

export function slotBytesOf(kind: SealJobKind, format: SealFormat, length: number): number {
  return kind === 'seal' ? sealSlotHeadBytes + outputBytesOf(kind, format, length) : openSlotHeadBytes + length;
}

/** Runs every job of a batch in place; a failing job fails alone. */
export function runSealBatch(request: SealBatchRequest): SealBatchReply {
  const bytes = new Uint8Array(request.buffer);
  const failures = request.slots.map((slot) => {
    try {
      if (slot.kind === 'seal') sealSlot(bytes, slot);
      else openSlot(bytes, slot);
      return null;
    } catch (error) {
      return failureOf(error);
    }
  });
  return { batch: request.batch, buffer: request.buffer, failures };
}

function sealSlot(bytes: Uint8Array, slot: SealJobSlot): void {
  const keyBytes = dedupLimits.chunkKeyBytes;
  const salt = bytes.subarray(slot.offset, slot.offset + keyBytes);
  const bodyStart = slot.offset + sealSlotHeadBytes;
  const plaintext = bytes.subarray(bodyStart, bodyStart + slot.length);
  const target = bytes.subarray(bodyStart, bodyStart + outputBytesOf(slot.kind, slot.format, slot.length));
  const { key, idBytes } = slot.format === 'chunk' ? sealChunkInto(plaintext, salt, target) : sealPagedBlockInto(plaintext, salt, target, slot.format);
  bytes.set(idBytes, slot.offset); // over the salt, which sealChunkInto has consumed
  bytes.set(key, slot.offset + keyBytes);
}

function openSlot(bytes: Uint8Array, slot: SealJobSlot): void {
  const key = bytes.subarray(slot.offset, slot.offset + openSlotHeadBytes);
  const bodyStart = slot.offset + openSlotHeadBytes;
  const ciphertext = bytes.subarray(bodyStart, bodyStart + slot.length);
  const plaintext = slot.format === 'chunk' ? openChunk(ciphertext, key) : openPagedBlock(ciphertext, key, slot.format);
  bytes.set(plaintext, bodyStart); // after openChunk authenticated and returned: in place is safe
}

function failureOf(error: unknown): SealJobFailure {
  if (isCairnError(error)) return { name: error.name, code: error.code, message: error.message };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
