// Layout of the S3 door's keys in the node's MetaStore. Bucket names never contain '/', so a
// prefix scan of objectPrefix(bucket) sees exactly that bucket's objects, in UTF-8 byte order,
// which is the order S3 lists keys in.
export const bucketKey = (bucket: string): string => `b/${bucket}`;
export const bucketPrefix = 'b/';
export const objectKey = (bucket: string, key: string): string => `o/${bucket}/${key}`;
export const objectPrefix = (bucket: string): string => `o/${bucket}/`;
export const uploadKey = (bucket: string, uploadId: string): string => `u/${bucket}/${uploadId}`;
export const uploadPrefix = (bucket: string): string => `u/${bucket}/`;
export const partKey = (uploadId: string, partNumber: number): string => `p/${uploadId}/${String(partNumber).padStart(5, '0')}`;
export const partPrefix = (uploadId: string): string => `p/${uploadId}/`;

/** The smallest string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1);
  if (last === undefined) return '\u{10FFFF}';
  const width = last > 0xffff ? 2 : 1;
  return prefix.slice(0, prefix.length - width) + String.fromCodePoint(last + 1);
}
