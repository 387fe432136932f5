// What every S3 handler receives: the parsed address of the request (STYLE.md §2: the door turns
// a request into data before any service sees it) and the services it may call.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MetaStore } from '../../blockstore/meta/index.js';
import type { BlobStore } from '../../blockstore/blobs/index.js';
import type { BucketService } from '../service/buckets.js';
import type { MultipartService } from '../service/multipart.js';
import type { ObjectService } from '../service/objects.js';
import type { AuthenticatedRequest } from '../request-auth.js';

export interface S3Services {
  buckets: BucketService;
  objects: ObjectService;
  multipart: MultipartService;
  blobs: BlobStore;
  meta: MetaStore;
  region: string;
  /** A full GC, where the runtime offers one (the launcher's --expose-gc); see gatewayLimits.collectGarbageBytes. */
  collectGarbage?: () => void;
}

export interface S3Address {
  bucket: string | undefined;
  key: string | undefined;
  /** Query parameters, decoded; a parameter given without a value maps to ''. */
  query: Map<string, string>;
}

export interface S3Call {
  request: FastifyRequest;
  reply: FastifyReply;
  address: S3Address;
  auth: AuthenticatedRequest;
  services: S3Services;
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
