// buildGateway(deps) → a fastify instance serving the S3 REST API (STYLE.md §3). Tests call it
// with in-memory deps and inject(); tools/serve.ts calls it and listens.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { AssertionError } from '../dedup/errors.js';
import { STATUS_CODES } from 'node:http';
import { renderS3ErrorXml, S3Error, toS3Error, type S3ErrorCode } from './s3-errors.js';
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
  /** The one bucket a scoped (per-invocation, seed 7) access key may touch; undefined for normal keys. */
  scopeOf?: (accessKeyId: string) => string | undefined;
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: gatewayLimits.xmlBodyBytesMax,
    connectionTimeout: gatewayLimits.connectionTimeoutMs,
    requestTimeout: gatewayLimits.requestTimeoutMs,
    keepAliveTimeout: gatewayLimits.keepAliveTimeoutMs,
    routerOptions: { maxParamLength: gatewayLimits.urlBytesMax },
    maxRequestsPerSocket: 0,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    genReqId: () => randomBytes(8).toString('hex').toUpperCase(),
    http: { maxHeaderSize: gatewayLimits.headerBytesMax },
    clientErrorHandler: (error, socket) => sendHttpParseError(error as NodeJS.ErrnoException, socket, deps.logger),
    // A path fastify cannot decode (e.g. a broken %-escape) never reaches the S3 scope's handlers.
    frameworkErrors: (error, request, reply) => sendS3Error(error.code === 'FST_ERR_BAD_URL' ? new S3Error('InvalidURI') : error, request, reply, deps.logger),
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
        refuseSignatureV2(request, address.query);
        const auth = authenticate(request, deps.credentials, deps.services.region, new Date(deps.clock()));
        const scope = deps.scopeOf?.(auth.accessKeyId);
        if (scope !== undefined && address.bucket !== scope) throw new S3Error('AccessDenied', 'These credentials are scoped to another bucket.', { resource: address.bucket ?? '/' });
        if (scope !== undefined) auth.scope = scope;
        const call: S3Call = { request, reply, address, auth, services: deps.services };
        reply.header('x-amz-request-id', request.id);
        await chooseHandler(call)(call);
        return reply;
      },
    });
  });
  return app as unknown as FastifyInstance;
}

// SigV2 (header "AWS key:signature", or presigned ?AWSAccessKeyId&Signature&Expires — boto3's
// default presign) would otherwise look anonymous and get a bare AccessDenied. S3 regions without
// SigV2 answer this (S3 API Reference, "Authenticating Requests (AWS Signature Version 4)").
function refuseSignatureV2(request: FastifyRequest, query: ReadonlyMap<string, string>): void {
  const authorization = request.headers.authorization;
  const headerV2 = typeof authorization === 'string' && authorization.startsWith('AWS ');
  const queryV2 = query.has('AWSAccessKeyId') && query.has('Signature');
  if (headerV2 || queryV2) {
    throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
}

// Requests node's HTTP parser refuses never reach a route, so fastify's default would answer them
// in JSON. S3 clients parse XML error bodies: answer with the S3 code that says what went wrong.
// Node's codes: https://nodejs.org/api/http.html#event-clienterror (llhttp's HPE_* names).
const httpParseErrors: Readonly<Record<string, S3ErrorCode>> = {
  HPE_HEADER_OVERFLOW: 'RequestHeaderSectionTooLarge',
  HPE_INVALID_EOF_STATE: 'IncompleteBody',          // the connection ended inside a body
  ERR_HTTP_REQUEST_TIMEOUT: 'RequestTimeout',
};

function sendHttpParseError(error: NodeJS.ErrnoException, socket: Socket, logger: Logger | undefined): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = httpParseErrors[error.code ?? ''] ?? 'InvalidRequest';
  const s3Error = code === 'InvalidRequest' ? new S3Error(code, `The HTTP request could not be parsed (${error.code ?? 'unknown'}).`) : new S3Error(code);
  logger?.debug({ err: error, code }, 'unparsable HTTP request');
  if (socket.writable) {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body = renderS3ErrorXml(s3Error, { requestId });
    socket.write(`HTTP/1.1 ${s3Error.status} ${STATUS_CODES[s3Error.status] ?? ''}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      + `x-amz-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
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
