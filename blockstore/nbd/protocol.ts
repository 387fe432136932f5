// Wire values of doc/proto.md (NetworkBlockDevice/nbd), section "Values", plus the magic
// numbers of "Protocol phases". Plain constants, no TS enum (STYLE §7).

// proto.md "Newstyle negotiation"
export const nbdMagic = 0x4e42444d41474943n; // 'NBDMAGIC'
export const nbdOptionMagic = 0x49484156454f5054n; // 'IHAVEOPT'
// proto.md "Fixed newstyle negotiation"
export const nbdOptionReplyMagic = 0x3e889045565a9n;
// proto.md "Request message", "Simple reply message", "Structured reply chunk message"
export const nbdRequestMagic = 0x25609513;
export const nbdSimpleReplyMagic = 0x67446698;
export const nbdStructuredReplyMagic = 0x668e33ef;

// proto.md "Handshake flags" / "Client flags"
export const handshakeFlagFixedNewstyle = 1 << 0;
export const handshakeFlagNoZeroes = 1 << 1;
export const clientFlagFixedNewstyle = 1 << 0;
export const clientFlagNoZeroes = 1 << 1;

// proto.md "Transmission flags"
export const transmissionFlag = {
  hasFlags: 1 << 0,
  readOnly: 1 << 1,
  sendFlush: 1 << 2,
  sendFua: 1 << 3,
  rotational: 1 << 4,
  sendTrim: 1 << 5,
  sendWriteZeroes: 1 << 6,
  sendDf: 1 << 7,
  canMultiConn: 1 << 8,
  sendCache: 1 << 10,
  sendFastZero: 1 << 11,
} as const;

// proto.md "Option types"
export const option = {
  exportName: 1,
  abort: 2,
  list: 3,
  startTls: 5,
  info: 6,
  go: 7,
  structuredReply: 8,
  listMetaContext: 9,
  setMetaContext: 10,
} as const;

// proto.md "Option reply types"; error replies have bit 31 set.
export const optionReply = {
  ack: 1,
  server: 2,
  info: 3,
  metaContext: 4,
  errUnsup: 0x8000_0001,
  errPolicy: 0x8000_0002,
  errInvalid: 0x8000_0003,
  errPlatform: 0x8000_0004,
  errTlsReqd: 0x8000_0005,
  errUnknown: 0x8000_0006,
  errShutdown: 0x8000_0007,
  errBlockSizeReqd: 0x8000_0008,
  errTooBig: 0x8000_0009,
} as const;

// proto.md NBD_REP_INFO "information types"
export const info = { export: 0, name: 1, description: 2, blockSize: 3 } as const;

// proto.md "Request types"
export const command = {
  read: 0,
  write: 1,
  disc: 2,
  flush: 3,
  trim: 4,
  cache: 5,
  writeZeroes: 6,
  blockStatus: 7,
} as const;
export type CommandType = (typeof command)[keyof typeof command];

// proto.md "Command flags"
export const commandFlag = {
  fua: 1 << 0,
  noHole: 1 << 1,
  df: 1 << 2,
  reqOne: 1 << 3,
  fastZero: 1 << 4,
} as const;

// proto.md "Structured reply flags" and "Structured reply types"
export const replyFlagDone = 1 << 0;
export const replyType = {
  none: 0,
  offsetData: 1,
  offsetHole: 2,
  blockStatus: 5,
  error: 0x8001,
  errorOffset: 0x8002,
} as const;

// proto.md "`base:allocation` metadata context"
export const baseAllocationContext = 'base:allocation';
export const stateHole = 1 << 0;
export const stateZero = 1 << 1;
/** Our only metadata context's id; proto.md lets the server choose any id per connection. */
export const baseAllocationContextId = 1;
