// Every bound of the NBD door, by name (STYLE §12). 0 never means "unlimited"; relationships are
// asserted at module load so a bad edit fails the first import, not a client in production.
import { assert } from '../../dedup/errors.js';

const kibibyte = 1024;
const mebibyte = 1024 * kibibyte;

/** proto.md "Size constraints": a payload of up to 2^25 bytes SHOULD NOT be deemed a denial of
 * service, so this is both our advertised maximum payload and the largest WRITE we buffer. */
export const nbdRequestBytesMax = 32 * mebibyte;
/** Advertised preferred block size (proto.md "Size constraints": default 2^12). */
export const nbdBlockBytesPreferred = 4 * kibibyte;
/** Advertised minimum block size: 1, i.e. the default; MemoryBlockDevice is byte-addressable. */
export const nbdBlockBytesMin = 1;
/** Options a client may send before transmission (cf. nbdkit MAX_NR_OPTIONS). Past it, hard disconnect. */
export const nbdHandshakeOptionsMax = 32;
/** Largest option payload we read; bigger ones are a denial of service → hard disconnect. */
export const nbdOptionBytesMax = 64 * kibibyte;
/** proto.md "Conventions": strings MUST be no longer than 4096 bytes. */
export const nbdStringBytesMax = 4096;
/** Queries in one NBD_OPT_{LIST,SET}_META_CONTEXT; more → NBD_REP_ERR_TOO_BIG. */
export const nbdMetaQueriesMax = 16;
/** NBD_INFO requests in one NBD_OPT_INFO / NBD_OPT_GO (there are 4 defined; duplicates are a client bug). */
export const nbdInfoRequestsMax = 64;
/** Exports listed by NBD_OPT_LIST; the rest are omitted, never an unbounded reply. */
export const nbdExportsListedMax = 4096;
/** Requests in flight per connection; at the cap we stop reading the socket. */
export const nbdInflightRequestsMax = 64;
/** Payload bytes (writes received + reads not yet sent) in flight per connection. */
export const nbdInflightBytesMax = 128 * mebibyte;
/** Bytes queued on the socket before we stop taking new requests (reply backpressure). */
export const nbdReplyQueueBytesMax = 64 * mebibyte;
/** WRITE payload buffers a connection keeps for reuse, and the largest it keeps (payload-buffers.ts):
 * ≤ 4 MiB held per idle connection; a 1 MiB sequential writer reuses them instead of allocating. */
export const nbdPayloadBuffersKeptMax = 4;
export const nbdPayloadBufferBytesMax = 1 * mebibyte;
/** The connection reader's two scratch buffers (socket-reader.ts): what one read takes when it
 * does not go straight into a WRITE payload. */
export const nbdScratchBytes = 64 * 1024;
/** A payload still missing at least this much is read straight into its buffer; a smaller rest
 * goes through a scratch buffer, with the next request's header in the same read. */
export const nbdDirectReadBytesMin = 16 * 1024;
/** Bytes the connection reader buffers ahead of a pending read before pausing the socket. */
export const nbdReadAheadBytesMax = 4 * mebibyte;
/** proto.md NBD_REPLY_TYPE_BLOCK_STATUS: servers SHOULD NOT send more than 2^20 extents. */
export const nbdBlockStatusExtentsMax = 1 << 20;
/** Content chunks (OFFSET_DATA / OFFSET_HOLE) in one structured READ reply; more are merged into data. */
export const nbdReadChunksMax = 256;
/** Holes shorter than this inside a read are sent as data: a chunk header costs more than it saves. */
export const nbdReadHoleBytesMin = 4 * kibibyte;
/** Concurrent connections per server. */
export const nbdConnectionsMax = 256;
/** A client must finish option haggling within this time (slow-loris bound). */
export const nbdHandshakeTimeoutMs = 30_000;
/** On close(), in-flight requests get this long to finish before connections are destroyed. */
export const nbdShutdownGraceMs = 5_000;
/** Error message bytes in an NBD_REPLY_TYPE_ERROR chunk (proto.md: ≤ 4096). */
export const nbdErrorMessageBytesMax = 1024;

assert(nbdRequestBytesMax >= 1 << 25, 'proto.md: max payload SHOULD be at least 2^25 for interoperability');
assert(nbdRequestBytesMax <= 0xffff_ffff - 8, 'a READ reply chunk must fit the 32-bit length field');
assert(nbdBlockBytesPreferred >= 512 && (nbdBlockBytesPreferred & (nbdBlockBytesPreferred - 1)) === 0,
  'proto.md: preferred block size is a power of 2, at least 512');
assert(nbdRequestBytesMax >= nbdBlockBytesPreferred, 'proto.md: max payload ≥ preferred block size');
assert(nbdInflightBytesMax >= 2 * nbdRequestBytesMax, 'two maximum requests must fit in flight');
assert(nbdInflightRequestsMax >= 1 && nbdHandshakeOptionsMax >= 8, 'a useful client needs these');
assert(nbdPayloadBuffersKeptMax >= 1 && nbdPayloadBuffersKeptMax * nbdPayloadBufferBytesMax <= nbdReadAheadBytesMax,
  'kept payload buffers hold no more than the read-ahead a connection may buffer anyway');
assert(nbdOptionBytesMax >= 4 + nbdStringBytesMax + 4 + nbdMetaQueriesMax * (4 + nbdStringBytesMax) / 4,
  'an option carrying a maximal export name and several queries must fit');
assert(nbdErrorMessageBytesMax <= nbdStringBytesMax, 'error messages are proto.md strings');
assert(nbdReadHoleBytesMin >= 512, 'proto.md READ: chunks SHOULD be multiples of 512');
