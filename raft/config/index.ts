// The configuration service's public surface: node shell, HTTP door, client, state machine.
export { ConfigClient, ConfigClientError, type ClientStatus, type ConfigClientOptions } from './client.js';
export { decodeCommand, encodeCommand, type CommandV1, type Operation } from './command.js';
export { ConfigError, configErrorStatus, type ConfigErrorCode } from './errors.js';
export { buildHttpApi } from './http-api.js';
export * from './limits.js';
export { ConfigNode, type ConfigNodeOptions } from './server.js';
export { ConfigStateMachine, type CommandResult, type KeyValue, type WatchEvent } from './state-machine.js';
export { decodeState, encodeState } from './state-snapshot.js';
