// Public face of compute/drivers: import this, not the files behind it.
export * from './driver.js';
export * as driverLimits from './limits.js';
export { WasmDriver, wasmBuildHash, type WasmDriverOptions } from './wasm/wasm-driver.js';
export { functionCodeFromZip } from './function-code.js';
export { decodeWasmImageV1, encodeWasmImageV1, type WasmImageV1, type WasmImageHeaderV1 } from './wasm/image.js';
