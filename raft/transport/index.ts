// The transport's public surface: a TCP adapter for the raft core, and its codec.
export { decodeMessage, encodeMessage, messageVersionCurrent } from './codec.js';
export { TransportError, type TransportErrorCode } from './errors.js';
export { encodeFrame, FrameDecoder } from './frame.js';
export * from './limits.js';
export { TcpTransport, type PeerAddress, type TransportOptions, type TransportStats } from './tcp-transport.js';
