// The configuration service's operating errors (STYLE.md §6, §7), one table for HTTP below.
// Broken invariants use the core's RaftAssertionError and stop the node.

export type ConfigErrorCode =
  | 'NotLeader' // this node cannot serve the request; `leader` hints at who can (thesis §6.2)
  | 'Unavailable' // no leader yet, or the leader is busy (no quorum, transfer, full queue)
  | 'Timeout' // the request did not commit in time; retrying with the same id is safe (§6.3)
  | 'InvalidRequest' // malformed key, value, version, TTL or body
  | 'KeyNotFound'
  | 'LeaseNotFound'
  | 'Compacted' // a watch asked for revisions older than the kept event history
  | 'StaleRequest' // a retry whose cached response was evicted: its outcome is unknown
  | 'TooManyLeases'
  | 'Internal';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly leader: number | null;
  constructor(code: ConfigErrorCode, message: string, leader: number | null = null) {
    super(`${code}: ${message}`);
    this.name = 'ConfigError';
    this.code = code;
    this.leader = leader;
  }
}

/** HTTP status per code; the client retries 421/503/504 elsewhere or later. */
export const configErrorStatus: Readonly<Record<ConfigErrorCode, number>> = {
  NotLeader: 421,
  Unavailable: 503,
  Timeout: 504,
  InvalidRequest: 400,
  KeyNotFound: 404,
  LeaseNotFound: 404,
  Compacted: 410,
  StaleRequest: 409,
  TooManyLeases: 429,
  Internal: 500,
};

export const retryableCodes: ReadonlySet<ConfigErrorCode> = new Set(['NotLeader', 'Unavailable', 'Timeout']);
