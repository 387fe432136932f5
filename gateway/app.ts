// buildGateway(deps) → a fastify instance serving the S3 REST API (STYLE.md §3). Tests call it
// with in-memory deps and inject(); tools/serve.ts calls it and listens.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { AssertionError } from '../dedup/errors.js';
import { renderS3ErrorXml, S3Error, toS3Error } from './s3-errors.js';
import { gatewayLimits } from './limits.js';
import { authenticate } from './request-auth.js';
import type { CredentialsLookup } from './auth/sigv4-verify.js';
import { parseAddress } from './routes/address.js';
import { chooseHandler } from './routes/dispatch.js';
import type { S3Call, S3Services } from './routes/context.js';

export interface GatewayDeps {
  services: S3Services;
  credentials: CredentialsLookup;
  /** Host names under which virtual-hosted-style requests name their bucket (bucket.<domain>). */
  domains: readonly string[];
  clock: () => number;
  logger?: Logger;
  /** Extra routes on the same server (the admin API), registered in their own encapsulated scope. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    disableRequestLogging: true,
    bodyLimit: gatewayLimits.xmlBodyBytesMax,
    connectionTimeout: gatewayLimits.connectionTimeoutMs,
    requestTimeout: gatewayLimits.requestTimeoutMs,
    keepAliveTimeout: gatewayLimits.keepAliveTimeoutMs,
    maxParamLength: gatewayLimits.urlBytesMax,
    maxRequestsPerSocket: 0,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    genReqId: () => randomBytes(8).toString('hex').toUpperCase(),
    http: { maxHeaderSize: gatewayLimits.headerBytesMax },
  });
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  await app.register(async (s3) => {
    // Bodies stay unread streams: handlers decide how to consume them (aws-chunked, XML, data).
    s3.removeAllContentTypeParsers();
    s3.addContentTypeParser('*', (_request, _payload, done) => done(null));
    s3.setErrorHandler((error, request, reply) => sendS3Error(error, request, reply, deps.logger));
    s3.setNotFoundHandler((request, reply) => sendS3Error(new S3Error('MethodNotAllowed'), request, reply, deps.logger));
    s3.route({
      method: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
      url: '/*',
      handler: async (request, reply) => {
        const address = parseAddress(request.raw.url ?? '/', request.headers.host, deps.domains);
        const auth = authenticate(request, deps.credentials, deps.services.region, new Date(deps.clock()));
        const call: S3Call = { request, reply, address, auth, services: deps.services };
        reply.header('x-amz-request-id', request.id);
        await chooseHandler(call)(call);
        return reply;
      },
    });
  });
  return app as unknown as FastifyInstance;
}

function sendS3Error(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger | undefined): void {
  const s3Error = toS3Error(error);
  if (s3Error.code === 'InternalError' || error instanceof AssertionError) {
    logger?.error({ err: error, method: request.method, requestId: request.id }, 'internal error');
  }
  if (reply.sent || reply.raw.headersSent) {
    // Mid-stream failure (a chunk failed verification while a GET streamed): cut the connection
    // so the client sees a short body, never wrong bytes.
    reply.raw.destroy();
    return;
  }
  reply.code(s3Error.status).header('x-amz-request-id', request.id);
  // Drain what the client is still sending so the error reaches it (it may not read until done).
  request.raw.resume();
  if (request.method === 'HEAD') {
    reply.send();
    return;
  }
  const resource = request.raw.url?.split('?')[0];
  reply.header('content-type', 'application/xml').send(renderS3ErrorXml(s3Error, { requestId: String(request.id), resource }));
}
