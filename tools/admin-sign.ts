// Signs the CLI's admin requests with SigV4, reusing the canonical forms the gateway verifies
// with (gateway/auth), so the two sides cannot drift apart.
import {
  canonicalHeaders, canonicalQueryString, canonicalRequest, canonicalUri, deriveSigningKey, hmacSha256, parseQuery, stringToSign,
  emptySha256Hex,
} from '../gateway/auth/sigv4-canonical.js';
import { formatAmzDate } from '../gateway/auth/sigv4-parse.js';

export interface SignInput {
  method: string;
  url: URL;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  now: Date;
}

export function signAdminRequest(input: SignInput): Record<string, string> {
  const amzDate = formatAmzDate(input.now);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: input.url.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': emptySha256Hex };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest({
    method: input.method, canonicalUri: canonicalUri(input.url.pathname),
    canonicalQuery: canonicalQueryString(parseQuery(input.url.search.replace(/^\?/, ''))),
    canonicalHeaders: canonicalHeaders(headers, signedHeaders), signedHeaders, payloadHash: emptySha256Hex,
  });
  const scope = `${date}/${input.region}/s3/aws4_request`;
  const signature = hmacSha256(deriveSigningKey(input.secretAccessKey, date, input.region, 's3'), stringToSign(amzDate, scope, canonical)).toString('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}
