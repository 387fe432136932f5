// The admin HTTP API beside S3 (/_cairn/admin/…): SigV4-signed by the root user, JSON out.
// Parameters travel in the query string so every request has an empty, signed body.
// Bucket names cannot start with '_', so these paths never shadow a path-style bucket.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { authenticate } from '../gateway/request-auth.js';
import { S3Error, toS3Error } from '../gateway/s3-errors.js';
import { isCairnError } from '../dedup/errors.js';
import { validateSaltPolicy, type SaltPolicyV1 } from '../dedup/index.js';
import type { CairnNode } from './node.js';
import { parseVolumeAction, runVolumeAction, type VolumeAction } from './admin-volumes.js';

export const adminPrefix = '/_cairn/admin';

export type AdminAction =
  | { kind: 'user-add'; name: string }
  | { kind: 'user-list' }
  | { kind: 'redundancy'; bucket: string; policy: SaltPolicyV1 }
  | { kind: 'gc' }
  | { kind: 'scrub' }
  | { kind: 'stats' }
  | VolumeAction;

/** Runs one admin action against an open node: shared by the HTTP API and the offline CLI. */
export async function runAdminAction(node: CairnNode, action: AdminAction): Promise<unknown> {
  switch (action.kind) {
    case 'user-add': {
      if (node.users.hasUser(action.name)) throw new S3Error('InvalidArgument', `user ${action.name} exists`);
      const key = await node.users.add(action.name, Date.now());
      return { user: key.userId, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    }
    case 'user-list': return node.users.list();
    case 'redundancy': {
      validateSaltPolicy(action.policy);
      const record = await node.s3.buckets.setSaltPolicy(action.bucket, action.policy);
      return { bucket: record.name, saltPolicy: record.saltPolicy };
    }
    case 'gc': return node.chunks.gc();
    case 'scrub': return node.chunks.scrub();
    case 'stats': return node.chunks.stats();
    default: return runVolumeAction(node.volumes, action);
  }
}

export function parseAdminAction(method: string, path: string, query: Record<string, string | undefined>): AdminAction {
  const route = `${method} ${path.slice(adminPrefix.length)}`;
  switch (route) {
    case 'POST /users': return { kind: 'user-add', name: required(query, 'name') };
    case 'GET /users': return { kind: 'user-list' };
    case 'PUT /redundancy': {
      const salts = Number(required(query, 'salts'));
      const by = required(query, 'by') as SaltPolicyV1['by'];
      const windowSeconds = Number(query.window ?? 3600);
      return { kind: 'redundancy', bucket: required(query, 'bucket'), policy: { version: 1, salts, by, windowSeconds } as SaltPolicyV1 };
    }
    case 'POST /gc': return { kind: 'gc' };
    case 'POST /scrub': return { kind: 'scrub' };
    case 'GET /stats': return { kind: 'stats' };
  }
  const volume = parseVolumeAction(route, (name) => required(query, name));
  if (volume) return volume;
  throw new S3Error('MethodNotAllowed');
}

function required(query: Record<string, string | undefined>, name: string): string {
  const value = query[name];
  if (value === undefined || value === '') throw new S3Error('InvalidArgument', `missing parameter ${name}`);
  return value;
}

export function adminRoutes(node: CairnNode, logger: Logger) {
  return async (app: FastifyInstance): Promise<void> => {
    app.route({
      method: ['GET', 'POST', 'PUT'],
      url: `${adminPrefix}/*`,
      handler: async (request: FastifyRequest, reply) => {
        try {
          const auth = authenticate(request, node.users.lookup, node.config.region, new Date());
          if (auth.userId !== 'root') throw new S3Error('AccessDenied', 'the admin API is for the root user');
          const action = parseAdminAction(request.method, request.url.split('?')[0], request.query as Record<string, string>);
          return reply.send(await runAdminAction(node, action));
        } catch (error) {
          const s3Error = isCairnError(error) && !(error instanceof S3Error) ? new S3Error('InvalidArgument', error.message) : toS3Error(error);
          if (s3Error.code === 'InternalError') logger.error({ err: error }, 'admin request failed');
          return reply.code(s3Error.status).send({ error: s3Error.code, message: s3Error.message });
        }
      },
    });
  };
}
