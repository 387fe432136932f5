// Public surface of gateway/checksums/.
export { ChecksumSet, ChecksumStream, expectedChecksumsFromHeaders, algorithmsForHeaders, checksumHeaderNames, checksumBytes, compositeChecksum } from './checksum-set.js';
export type { ChecksumAlgorithm, ExpectedChecksums } from './checksum-set.js';
export { Crc32, Crc32c, Crc64Nvme, type RunningCrc } from './crc.js';
