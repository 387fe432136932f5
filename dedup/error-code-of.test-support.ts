// Test support: what a call throws, as the CairnError code the tests compare against.
import { CairnError } from './errors.js';

export function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof CairnError ? error.code : `not a CairnError: ${String(error)}`;
  }
  return 'no error';
}
