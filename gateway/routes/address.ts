// Where an S3 request points: path-style (/bucket/key) or virtual-hosted-style
// (bucket.<domain>/key), per the S3 User Guide, "Virtual hosting of buckets".
import { S3Error } from '../s3-errors.js';
import type { S3Address } from './context.js';

export function parseAddress(rawUrl: string, host: string | undefined, domains: readonly string[]): S3Address {
  const queryAt = rawUrl.indexOf('?');
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = parseQuery(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1));
  const path = decodePath(rawPath);
  const hostBucket = bucketFromHost(host, domains);
  if (hostBucket !== undefined) {
    const key = path.length > 1 ? path.slice(1) : undefined;
    return { bucket: hostBucket, key, query };
  }
  const rest = path.slice(1);
  if (rest === '') return { bucket: undefined, key: undefined, query };
  const slash = rest.indexOf('/');
  if (slash === -1) return { bucket: rest, key: undefined, query };
  const key = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), key: key === '' ? undefined : key, query };
}

function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidURI');
  }
}

export function parseQuery(raw: string): Map<string, string> {
  const query = new Map<string, string>();
  if (raw === '') return query;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    const value = equals === -1 ? '' : pair.slice(equals + 1);
    try {
      query.set(decodeURIComponent(name.replace(/\+/g, ' ')), decodeURIComponent(value.replace(/\+/g, ' ')));
    } catch {
      throw new S3Error('InvalidArgument', 'Malformed query string');
    }
  }
  return query;
}

function bucketFromHost(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  // The longest matching domain wins: with domains [localhost, s3.localhost], the host
  // photos.s3.localhost names bucket "photos", not "photos.s3".
  let bucket: string | undefined;
  for (const domain of domains) {
    if (!name.endsWith(`.${domain}`)) continue;
    const candidate = name.slice(0, -domain.length - 1);
    if (bucket === undefined || candidate.length < bucket.length) bucket = candidate;
  }
  return bucket;
}
