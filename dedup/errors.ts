// The two kinds of failure (STYLE.md §6). Operating errors are CairnError subclasses with a
// string-literal code that each protocol door maps through its own table; a broken invariant is
// an AssertionError, which no door ever turns into a 4xx or an NBD errno.

export class CairnError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function isCairnError(error: unknown): error is CairnError {
  return error instanceof CairnError;
}
