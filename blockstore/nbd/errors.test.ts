// Method: the errno table is compared with the list transcribed from proto.md "Error values"
// (name and number), both ways, so a code added to NbdErrorCode without a wire value, or a value
// that drifts from the document, fails here (STYLE §7).
import { describe, expect, it } from 'vitest';
import { AssertionError, CairnError } from '../../dedup/errors.js';
import { NbdError, type NbdErrorCode, nbdErrnoByCode, nbdErrnoOf, nbdMessageOf } from './errors.js';

// proto.md "Error values", verbatim order.
const protoErrorValues: [NbdErrorCode, number][] = [
  ['EPERM', 1], ['EIO', 5], ['ENOMEM', 12], ['EINVAL', 22], ['ENOSPC', 28], ['EOVERFLOW', 75], ['ENOTSUP', 95], ['ESHUTDOWN', 108],
];

describe('nbdErrnoByCode', () => {
  it('covers exactly the codes of proto.md "Error values" with their numbers', () => {
    expect(Object.entries(nbdErrnoByCode).sort()).toEqual([...protoErrorValues].sort());
  });

  it('maps every NbdError code through nbdErrnoOf', () => {
    for (const [code, errno] of protoErrorValues) expect(nbdErrnoOf(new NbdError(code, 'x'))).toBe(errno);
  });
});

describe('nbdErrnoOf for errors that are not NbdError', () => {
  it('reports foreign CairnErrors and plain errors as EIO, never EINVAL', () => {
    expect(nbdErrnoOf(new CairnError('NoSuchChunk', 'gone'))).toBe(5);
    expect(nbdErrnoOf(new Error('disk on fire'))).toBe(5);
    expect(nbdErrnoOf('a string')).toBe(5);
  });

  it('refuses to turn an AssertionError into an errno', () => {
    expect(() => nbdErrnoOf(new AssertionError('bug'))).toThrow(AssertionError);
  });

  it('sends only our own messages to clients', () => {
    expect(nbdMessageOf(new NbdError('ENOSPC', 'volume full'))).toBe('volume full');
    expect(nbdMessageOf(new Error('/secret/path failed'))).toBe('internal I/O error');
  });
});
