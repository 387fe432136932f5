// buildLambdaApi(deps) → a fastify instance serving the AWS Lambda REST API shape (Lambda API
// Reference, "Actions"), so `aws lambda …` and @aws-sdk/client-lambda work against Cairn.
// Every request is SigV4-signed for service 'lambda' with the same users as S3; the body is
// buffered (bounded) because Lambda clients sign the payload hash without x-amz-content-sha256.
// Errors: Lambda's JSON {Type, message} with the x-amzn-ErrorType header (errors.ts table).
import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SigningKeyCache, splitRawUrl, verifySigV4, type CredentialsLookup } from '../../gateway/auth/index.js';
import { isCairnError } from '../../dedup/errors.js';
import { LambdaError, lambdaErrorStatus, type LambdaErrorCode } from '../errors.js';
import { requestBodyBytesMax } from '../limits.js';
import { accountOf, type AccountId } from '../functions/records.js';
import type { FunctionRegistry } from '../functions/registry.js';
import type { AliasBook } from '../functions/aliases.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { functionRoutes } from './function-routes.js';
import { invokeRoutes } from './invoke-routes.js';
import { aliasRoutes } from './alias-routes.js';

/** What the API needs from the trigger tier: durable async invokes and the failed-event list. */
export interface AsyncInvoker {
  enqueueInvoke(account: AccountId, name: string, qualifier: string | undefined, payloadJson: string): Promise<string>;
  listFailed(account: AccountId): Promise<unknown[]>;
}

export interface LambdaApiDeps {
  registry: FunctionRegistry;
  aliases: AliasBook;
  scheduler: Scheduler;
  asyncInvoker: AsyncInvoker;
  credentials: CredentialsLookup;
  region: string;
  clock: () => number;
  logger?: Logger;
}

export interface LambdaCall {
  request: FastifyRequest;
  reply: FastifyReply;
  userId: string;
  account: AccountId;
  body: Buffer;
  deps: LambdaApiDeps;
}

export type LambdaHandler = (call: LambdaCall) => Promise<unknown>;
export type Route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, handler: LambdaHandler) => void;

export async function buildLambdaApi(deps: LambdaApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: requestBodyBytesMax, connectionTimeout: 0, requestTimeout: 16 * 60_000,
    keepAliveTimeout: 5_000, routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true }, return503OnClosing: true,
  });
  const signingKeys = new SigningKeyCache();
  await app.register(async (lambda) => {
    lambda.removeAllContentTypeParsers();
    lambda.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    lambda.setErrorHandler((error, request, reply) => sendLambdaError(error, request, reply, deps.logger));
    lambda.setNotFoundHandler((_request, reply) => sendError(reply, 'ResourceNotFoundException', 'Unknown operation', 'x'));
    const route: Route = (method, url, handler) => lambda.route({
      method, url,
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const userId = authenticate(request, body, deps, signingKeys);
        reply.header('x-amzn-RequestId', request.id);
        const result = await handler({ request, reply, userId, account: accountOf(userId), body, deps });
        if (!reply.sent && result !== undefined) reply.header('content-type', 'application/json').send(JSON.stringify(result));
        return reply;
      },
    });
    functionRoutes(route);
    invokeRoutes(route);
    aliasRoutes(route);
  });
  return app as unknown as FastifyInstance;
}

function authenticate(request: FastifyRequest, body: Buffer, deps: LambdaApiDeps, signingKeys: SigningKeyCache): string {
  const { path, query } = splitRawUrl(request.raw.url ?? '/');
  try {
    // Outside S3, SigV4's canonical URI encodes the (already encoded) path once more: a ':' in
    // "name:alias" travels as %3A and is signed as %253A (General Reference, "canonical request").
    return verifySigV4({
      method: request.method, path: path.replace(/%/g, '%25'), query, headers: request.headers as Record<string, string | string[] | undefined>,
      now: new Date(deps.clock()), bodySha256Hex: createHash('sha256').update(body).digest('hex'),
    }, { service: 'lambda', region: deps.region, credentials: deps.credentials, signingKeys }).userId;
  } catch (error) {
    if (!isCairnError(error)) throw error;
    if (error.code === 'InvalidAccessKeyId') throw new LambdaError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (error.code === 'SignatureDoesNotMatch') throw new LambdaError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
    if (error.code === 'AccessDenied' && /anonymous|Authorization/i.test(error.message)) throw new LambdaError('UnrecognizedClientException', 'Missing Authentication Token');
    throw new LambdaError('InvalidSignatureException', error.message);
  }
}

function sendError(reply: FastifyReply, code: LambdaErrorCode, message: string, requestId: string): void {
  reply.code(lambdaErrorStatus[code]).header('x-amzn-ErrorType', code).header('x-amzn-RequestId', requestId)
    .header('content-type', 'application/json').send(JSON.stringify({ Type: code === 'ServiceException' ? 'Service' : 'User', message }));
}

function sendLambdaError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger | undefined): void {
  const requestId = String(request.id ?? randomUUID());
  if (error instanceof LambdaError) return sendError(reply, error.code, error.message, requestId);
  const code = (error as { code?: string }).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'RequestTooLargeException', 'Request must be smaller than 6291456 bytes for the InvokeFunction operation', requestId);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 'UnsupportedMediaTypeException', 'Unsupported media type', requestId);
  logger?.error({ err: error, method: request.method, url: request.url }, 'lambda api internal error');
  sendError(reply, 'ServiceException', 'An internal error occurred.', requestId);
}

/** Parses a JSON request body; Lambda answers InvalidRequestContentException for bad JSON. */
export function jsonBody<T>(call: LambdaCall): T {
  if (call.body.length === 0) return {} as T;
  try {
    return JSON.parse(call.body.toString('utf8')) as T;
  } catch {
    throw new LambdaError('InvalidRequestContentException', 'Could not parse request body into json: Unexpected character');
  }
}
