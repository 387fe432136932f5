// The transport's operating errors (STYLE.md §6, §7): bytes off the wire that are not a valid
// frame or message become a typed TransportError, never a crash; the connection carrying them is
// closed. Broken invariants use the core's RaftAssertionError.

export type TransportErrorCode =
  | 'FrameTooLarge' // a length prefix beyond transportFrameBytesMax
  | 'ChecksumMismatch' // crc32 of the payload differs from the frame header
  | 'Truncated' // a message ended before its fields did
  | 'TrailingBytes' // a message had bytes after its last field
  | 'UnknownVersion' // a MessageV<n> this build does not read
  | 'UnknownType' // a message type byte outside the table
  | 'InvalidField'; // a field outside its range (node id 0, counts above limits, bad UTF-8)

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TransportError';
    this.code = code;
  }
}
