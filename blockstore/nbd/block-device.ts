// The seam between the NBD door and whatever stores blocks (STYLE §4). The volumes layer
// implements BlockDevice; MemoryBlockDevice (memory-block-device.ts) is the reference used by the
// NBD tests. The NBD server validates every request before calling a device (STYLE §2), so a
// device may rely on the preconditions below and should assert them (STYLE §11).
//
// Preconditions the server guarantees on every call:
// - 0 ≤ offset, 0 < length, offset + length ≤ sizeBytes, all integers ≤ Number.MAX_SAFE_INTEGER;
// - read/write lengths ≤ nbdRequestBytesMax (limits.ts); trim/writeZeroes/blockStatus/cache
//   lengths < 2^32 (the NBD length field);
// - no write, trim or writeZeroes on a device with readOnly = true;
// - per connection, calls whose ranges overlap, where at least one of them writes, are never
//   concurrent: the later-received one starts after the earlier one settled (server.ts, "ordering").
//   Calls from different connections (multi-conn) may be concurrent and overlapping.
//
// Errors: throw NbdError (errors.ts) for an operating error the client should see (ENOSPC, EIO,
// ENOTSUP for fastZero…). Any other thrown value is reported to the client as EIO. Throw
// AssertionError for a broken invariant: the server logs it and closes that connection.

export interface BlockExtent {
  /** Bytes, > 0. Extents returned by blockStatus are consecutive, starting at the requested offset. */
  length: number;
  /** proto.md base:allocation NBD_STATE_HOLE: not allocated; writing there may need space. */
  hole: boolean;
  /** proto.md base:allocation NBD_STATE_ZERO: reads as zeros. */
  zero: boolean;
}

export interface BlockDevice {
  /** Fixed for the life of this handle; a resize is seen by handles opened afterwards. */
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** True only if flush() on any handle of this export makes durable every write, trim and
   * writeZeroes that completed on any handle before it was called, and every completed write is
   * visible to reads on every handle (proto.md NBD_FLAG_CAN_MULTI_CONN). */
  readonly canMultiConn: boolean;

  /** Returns exactly `length` bytes. The returned Buffer belongs to the caller: the device must not
   * keep or change it afterwards. Sees every write that completed before read was called. */
  read(offset: number, length: number): Promise<Buffer>;

  /** When the promise resolves the data is visible to every later read; it is durable once a later
   * flush() resolves, or already when it resolves if `fua` is set (proto.md NBD_CMD_FLAG_FUA).
   * `data` is lent: the caller does not change it until the promise settles, and the device copies
   * whatever it keeps (it must not hold a reference afterwards). */
  write(offset: number, data: Buffer, fua: boolean): Promise<void>;

  /** Makes durable every write, trim and writeZeroes that completed before flush() was called
   * (proto.md "Ordering of messages and writes"). */
  flush(): Promise<void>;

  /** A hint that the range is no longer needed (proto.md NBD_CMD_TRIM): afterwards its content is
   * unspecified until rewritten; a device may drop whole blocks and leave partial ones. */
  trim(offset: number, length: number, fua: boolean): Promise<void>;

  /** Afterwards the range reads as zeros. noHole: keep it allocated (no hole). fastZero: if this
   * cannot be done faster than writing zeros, throw NbdError('ENOTSUP') at once and change nothing
   * (proto.md NBD_CMD_FLAG_FAST_ZERO). */
  writeZeroes(offset: number, length: number, options: { fua: boolean; noHole: boolean; fastZero: boolean }): Promise<void>;

  /** At least one extent, consecutive from `offset`, each length > 0, total ≤ `length`; a device may
   * describe less than asked (the client asks again) — proto.md NBD_CMD_BLOCK_STATUS. Reporting
   * { hole: false, zero: false } is always correct. */
  blockStatus(offset: number, length: number): Promise<BlockExtent[]>;

  /** Optional prefetch hint (proto.md NBD_CMD_CACHE); no semantic effect. */
  cache?(offset: number, length: number): Promise<void>;

  /** Optional: called once when the connection that opened this handle ends. */
  close?(): Promise<void>;
}

export interface ExportDescription {
  name: string;
  description?: string;
}

/** What the NBD server serves. open() is called once per connection entering transmission (and
 * once per NBD_OPT_INFO, whose handle is closed at once); each call returns a new handle or the
 * same shared one. Names are proto.md strings (UTF-8, ≤ 4096 bytes); `x@snap` names a read-only
 * snapshot export by convention of the volumes layer. */
export interface ExportRegistry {
  list(): Promise<ExportDescription[]>;
  open(name: string): Promise<BlockDevice | undefined>;
}
