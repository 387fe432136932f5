// The NBD door's public surface: import blockstore/nbd only through this file.
export type { BlockDevice, BlockExtent, ExportDescription, ExportRegistry } from './block-device.js';
export { MemoryBlockDevice, MemoryExportRegistry, memoryPageBytes, type MemoryBlockDeviceOptions } from './memory-block-device.js';
export { NbdError, nbdErrnoByCode, type NbdErrorCode, isNbdError } from './errors.js';
export { startNbdServer, type NbdServer, type NbdServerOptions } from './server.js';
export type { NbdLogger } from './logger.js';
export * as nbdLimits from './limits.js';
