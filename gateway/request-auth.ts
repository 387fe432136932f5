// Binds SigV4 verification (gateway/auth) to a fastify request: every S3 request is signed
// (headers, presigned query, or streaming chunks); anonymous access is not offered.
import type { FastifyRequest } from 'fastify';
import { splitRawUrl, verifySigV4, type CredentialsLookup, type PayloadMode } from './auth/sigv4-verify.js';

export interface AuthenticatedRequest {
  userId: string;
  accessKeyId: string;
  payload: PayloadMode;
  /** Set for temporary credentials limited to one bucket (seed 7): every bucket named must be it. */
  scope?: string;
}

export function authenticate(request: FastifyRequest, credentials: CredentialsLookup, region: string, now: Date, service = 's3'): AuthenticatedRequest {
  const { path, query } = splitRawUrl(request.raw.url ?? '/');
  const result = verifySigV4({ method: request.method, path, query, headers: request.headers as Record<string, string | string[] | undefined>, now },
    { service, region, credentials });
  return { userId: result.userId, accessKeyId: result.accessKeyId, payload: result.payload };
}
