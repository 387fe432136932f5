// ListObjects (V1 and V2) and ListMultipartUploads share one walk: keys in UTF-8 byte order under
// a prefix, folded into common prefixes at the first delimiter after the prefix, resuming after
// a marker, stopping after maxKeys entries (keys and prefixes both count, as in S3).
import type { MetaStore } from '../../blockstore/meta/index.js';
import { prefixEnd } from './keys.js';

export interface ListWalkInput {
  /** Namespace in the MetaStore, e.g. objectPrefix(bucket). */
  namespace: string;
  prefix: string;
  delimiter: string;
  /** Resume strictly after this key (marker / start-after / continuation token). */
  after: string;
  maxKeys: number;
}

export interface ListWalkResult {
  entries: { key: string; value: Buffer }[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned: where the next page resumes. */
  last: string | undefined;
}

export async function walkKeys(meta: MetaStore, input: ListWalkInput): Promise<ListWalkResult> {
  const result: ListWalkResult = { entries: [], commonPrefixes: [], isTruncated: false, last: undefined };
  const scope = input.namespace + input.prefix;
  const end = prefixEnd(scope);
  let range: { gt?: string; gte?: string; lt: string } = { gte: scope, lt: end };
  if (input.after >= input.prefix) {
    // Resuming after a common prefix means skipping everything beneath it.
    const afterPrefix = input.delimiter !== '' && input.after.endsWith(input.delimiter)
      && foldAtDelimiter(input.after, input.prefix, input.delimiter) === input.after;
    range = afterPrefix ? { gte: prefixEnd(input.namespace + input.after), lt: end } : { gt: input.namespace + input.after, lt: end };
  }
  let count = 0;
  for (let restart = true; restart;) {
    restart = false;
    for await (const [fullKey, value] of meta.iterate(range)) {
      if (count === input.maxKeys) { result.isTruncated = true; return result; }
      const key = fullKey.slice(input.namespace.length);
      const folded = foldAtDelimiter(key, input.prefix, input.delimiter);
      count++;
      if (folded !== undefined) {
        result.commonPrefixes.push(folded);
        result.last = folded;
        // Seek past every key under this common prefix instead of reading them.
        range = { gte: prefixEnd(input.namespace + folded), lt: end };
        restart = true;
        break;
      }
      result.entries.push({ key, value });
      result.last = key;
    }
  }
  return result;
}

function foldAtDelimiter(key: string, prefix: string, delimiter: string): string | undefined {
  if (!delimiter) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}
