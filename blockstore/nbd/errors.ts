// NBD errno table (STYLE §7), following proto.md "Error values" exactly: these eight values are
// the only errors a server may put on the wire. Every operating error of the NBD door and of a
// BlockDevice is an NbdError with one of these codes; anything else (a CairnError of another
// layer, a Node error) is reported as EIO. An AssertionError is a bug: the connection shell logs
// it and closes the connection, it never becomes an errno (STYLE §6).
import { AssertionError, CairnError } from '../../dedup/errors.js';

export type NbdErrorCode = 'EPERM' | 'EIO' | 'ENOMEM' | 'EINVAL' | 'ENOSPC' | 'EOVERFLOW' | 'ENOTSUP' | 'ESHUTDOWN';

/** proto.md "Error values": name → wire value. */
export const nbdErrnoByCode: { readonly [code in NbdErrorCode]: number } = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
};

export class NbdError extends CairnError<NbdErrorCode> {
  constructor(code: NbdErrorCode, message: string = code, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function isNbdError(error: unknown): error is NbdError {
  return error instanceof NbdError;
}

/** The wire errno for an operating error; unknown errors become EIO (never EINVAL, STYLE §7).
 * Callers must have handled AssertionError first: asking for its errno is itself a bug. */
export function nbdErrnoOf(error: unknown): number {
  if (error instanceof AssertionError) throw error;
  if (isNbdError(error)) return nbdErrnoByCode[error.code];
  return nbdErrnoByCode.EIO;
}

/** The human message sent in an NBD_REPLY_TYPE_ERROR chunk: ours only, never a foreign error's
 * text (it may name paths or internals). */
export function nbdMessageOf(error: unknown): string {
  return isNbdError(error) ? error.message : 'internal I/O error';
}
