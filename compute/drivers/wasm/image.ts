// WasmImageV1: the persisted snapshot of a wasm environment (STYLE.md §5). Pure: bytes in/out.
//
// Layout (little-endian):
//   magic "CAIRNWI1" (8) | headerBytes u32 | header JSON (UTF-8)
//   | pageCount u32 | pageIndexes u32 × pageCount | zero padding to a 4 KiB file offset
//   | page data 4096 × pageCount
// Only non-zero 4 KiB pages are stored (WASM-SNAPSHOTS.md: 16 MiB → 0.16–2.6 MiB), in ascending
// index order, each on a 4 KiB file offset so a page-aligned chunker sees identical pages of two
// images as identical chunks (the dedup that matters is between versions of one function).
import { DriverError } from '../driver.js';
import { assert } from '../../../dedup/errors.js';
import { imagePageBytes, wasmPageBytes } from '../limits.js';

export const wasmImageVersion = 1;
const magic = 'CAIRNWI1';
const headerBytesMax = 1024 * 1024;

export interface WasmImageHeaderV1 {
  version: 1;
  buildHash: string;            // sha256 of the exact .wasm; restore rejects any other build
  memoryPages: number;          // 64 KiB pages of linear memory when taken
  maximumPages: number;         // the Memory maximum (hard cap) of the source environment
  memoryLimitBytes: number;     // engine limit (also inside the image; kept for resize/restore)
  runtimePointer: number;       // JSRuntime*
  contextPointer: number;       // JSContext*
  stackPointer: number;         // shadow stack pointer (a wasm global, not in memory)
  controlPointer: number;       // JSValue* box of the prelude's control object (holds the handler)
  hostFunctionIds: number[];    // host-ref ids baked into guest function objects
  staleValuePointers: number[]; // JSValue* boxes owned by the old wrappers: free on restore
  staleBlockPointers: number[]; // malloc blocks owned by the old wrappers: free on restore
  interruptHandler: boolean;    // the runtime had its interrupt handler enabled
  moduleKind: 'commonjs' | 'module';
  moduleSources: Record<string, string> | null; // ESM files for the module loader (re-attached)
  handler: string;
  phase: 'blank' | 'loaded';    // 'blank': prelude only (a base image); 'loaded': function initialised
}

export interface WasmImageV1 {
  header: WasmImageHeaderV1;
  pageIndexes: Uint32Array;     // ascending 4 KiB page numbers
  pages: Uint8Array;            // pageIndexes.length × 4096 bytes
}

/** Collects the non-zero 4 KiB pages of a linear memory (copies them). */
export function capturePages(memory: Uint8Array): { pageIndexes: Uint32Array; pages: Uint8Array } {
  assert(memory.byteLength % wasmPageBytes === 0, 'memory is whole wasm pages');
  const source = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength);
  const zero = Buffer.alloc(imagePageBytes);
  const indexes: number[] = [];
  const pageTotal = memory.byteLength / imagePageBytes;
  for (let page = 0; page < pageTotal; page++) {
    const offset = page * imagePageBytes;
    if (source.compare(zero, 0, imagePageBytes, offset, offset + imagePageBytes) !== 0) indexes.push(page);
  }
  const pages = new Uint8Array(indexes.length * imagePageBytes);
  indexes.forEach((page, i) => pages.set(source.subarray(page * imagePageBytes, (page + 1) * imagePageBytes), i * imagePageBytes));
  return { pageIndexes: Uint32Array.from(indexes), pages };
}

export function encodeWasmImageV1(image: WasmImageV1): Uint8Array {
  assert(image.pages.byteLength === image.pageIndexes.length * imagePageBytes, 'page data matches index');
  const header = Buffer.from(JSON.stringify(image.header), 'utf8');
  assert(header.byteLength <= headerBytesMax, 'image header too large');
  const prefix = dataOffsetFor(8 + 4 + header.byteLength + 4 + image.pageIndexes.length * 4);
  const out = new Uint8Array(prefix + image.pages.byteLength);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(magic, 'latin1'), 0);
  view.setUint32(8, header.byteLength, true);
  out.set(header, 12);
  let offset = 12 + header.byteLength;
  view.setUint32(offset, image.pageIndexes.length, true);
  offset += 4;
  for (const page of image.pageIndexes) { view.setUint32(offset, page, true); offset += 4; }
  out.set(image.pages, prefix);
  return out;
}

function dataOffsetFor(prefixBytes: number): number {
  return Math.ceil(prefixBytes / imagePageBytes) * imagePageBytes;
}

function corrupt(message: string): never {
  throw new DriverError('ImageCorrupt', `wasm image: ${message}`);
}

export function decodeWasmImageV1(bytes: Uint8Array, expectedBuildHash: string): WasmImageV1 {
  if (bytes.byteLength < 16 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== magic) corrupt('bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (headerLength > headerBytesMax || 12 + headerLength + 4 > bytes.byteLength) corrupt('bad header length');
  let header: WasmImageHeaderV1;
  try { header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8')); }
  catch { corrupt('header is not JSON'); }
  if (header.version !== wasmImageVersion) throw new DriverError('ImageIncompatible', `wasm image version ${header.version}, this driver reads ${wasmImageVersion}`);
  if (header.buildHash !== expectedBuildHash) throw new DriverError('ImageIncompatible', `wasm image built for engine ${String(header.buildHash).slice(0, 12)}, this driver runs ${expectedBuildHash.slice(0, 12)}`);
  let offset = 12 + headerLength;
  const pageCount = view.getUint32(offset, true);
  offset += 4;
  const dataOffset = dataOffsetFor(offset + pageCount * 4);
  if (dataOffset + pageCount * imagePageBytes !== bytes.byteLength) corrupt('length does not match page count');
  const pageIndexes = new Uint32Array(pageCount);
  const pageLimit = (header.memoryPages * wasmPageBytes) / imagePageBytes;
  for (let i = 0; i < pageCount; i++, offset += 4) {
    pageIndexes[i] = view.getUint32(offset, true);
    if (pageIndexes[i] >= pageLimit || (i > 0 && pageIndexes[i] <= pageIndexes[i - 1])) corrupt('page index out of order or range');
  }
  const pages = bytes.subarray(dataOffset);
  assert(pages.byteLength === pageCount * imagePageBytes, 'decoded page data length');
  return { header, pageIndexes, pages };
}

/** Image header fields without decoding pages (for routing and sizes). */
export function imageStats(image: WasmImageV1): { pageCount: number; storedBytes: number } {
  return { pageCount: image.pageIndexes.length, storedBytes: image.pages.byteLength };
}
