// CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction, Put/Get/DeleteFunctionConcurrency, plus Cairn's
// pre-trigger PUT …/cairn-warm?count=N and GET /2015-03-31/cairn-failed-events.
// Each handler parses the request into a typed input and hands it to the registry.
import { invalid, LambdaError } from '../errors.js';
import { listPageMax, warmCountMax } from '../limits.js';
import type { ConfigurationInput } from '../functions/registry.js';
import { jsonBody, type LambdaCall, type Route } from './app.js';
import { functionNameOf } from './function-name.js';
import { configurationShape } from './shapes.js';

interface ConfigurationBody {
  Runtime?: string; Handler?: string; Role?: string; MemorySize?: number; Timeout?: number; Description?: string;
  Environment?: { Variables?: Record<string, string> }; RevisionId?: string;
}

function configurationInput(body: ConfigurationBody): ConfigurationInput {
  return {
    runtime: body.Runtime, handler: body.Handler, role: body.Role, memorySize: body.MemorySize, timeout: body.Timeout,
    description: body.Description, environment: body.Environment ? { ...(body.Environment.Variables ?? {}) } : undefined,
  };
}

function zipOf(value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0) throw invalid('Code.ZipFile is required (S3Bucket/ImageUri code sources are not supported by Cairn).');
  return Buffer.from(value, 'base64');
}

export function functionRoutes(route: Route): void {
  route('POST', '/2015-03-31/functions', async (call) => {
    const body = jsonBody<ConfigurationBody & { FunctionName?: string; Code?: { ZipFile?: string }; Publish?: boolean; PackageType?: string }>(call);
    if (body.PackageType === 'Image') throw invalid('Cairn runs Zip packages only.');
    const config = await call.deps.registry.create(call.userId, {
      name: String(body.FunctionName ?? ''), zip: zipOf(body.Code?.ZipFile), publish: body.Publish, ...configurationInput(body),
    });
    call.reply.code(201);
    return configurationShape(config, call.deps.region);
  });

  route('GET', '/2015-03-31/functions', async (call) => {
    const query = call.request.query as { Marker?: string; MaxItems?: string };
    const maxItems = Math.min(listPageMax, Math.max(1, Number(query.MaxItems ?? listPageMax) || listPageMax));
    const page = await call.deps.registry.list(call.account, query.Marker, maxItems);
    return { Functions: page.functions.map((config) => configurationShape(config, call.deps.region)), ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}) };
  });

  route('GET', '/2015-03-31/functions/:name', async (call) => {
    const named = functionNameOf(call);
    const config = await call.deps.aliases.resolve(call.account, named.name, named.qualifier, () => 0);
    const head = await call.deps.registry.head(call.account, named.name);
    const base = `http://${call.request.headers.host ?? 'localhost'}`;
    return {
      Configuration: configurationShape(config, call.deps.region),
      Code: { RepositoryType: 'S3', Location: `${base}/2015-03-31/functions/${named.name}/cairn-code?Qualifier=${encodeURIComponent(config.functionVersion)}` },
      ...(head.reservedConcurrency !== null ? { Concurrency: { ReservedConcurrentExecutions: head.reservedConcurrency } } : {}),
    };
  });

  route('GET', '/2015-03-31/functions/:name/cairn-code', async (call) => {
    const named = functionNameOf(call);
    const config = await call.deps.aliases.resolve(call.account, named.name, named.qualifier, () => 0);
    call.reply.header('content-type', 'application/zip').send(await call.deps.registry.deps.code.zipOf(config));
  });

  route('GET', '/2015-03-31/functions/:name/configuration', async (call) => {
    const named = functionNameOf(call);
    return configurationShape(await call.deps.aliases.resolve(call.account, named.name, named.qualifier, () => 0), call.deps.region);
  });

  route('PUT', '/2015-03-31/functions/:name/configuration', async (call) => {
    const body = jsonBody<ConfigurationBody>(call);
    const config = await call.deps.registry.updateConfiguration(call.account, functionNameOf(call).name, { ...configurationInput(body), revisionId: body.RevisionId });
    return configurationShape(config, call.deps.region);
  });

  route('PUT', '/2015-03-31/functions/:name/code', async (call) => {
    const body = jsonBody<{ ZipFile?: string; Publish?: boolean; RevisionId?: string }>(call);
    const config = await call.deps.registry.updateCode(call.account, functionNameOf(call).name, zipOf(body.ZipFile), { publish: body.Publish, revisionId: body.RevisionId });
    return configurationShape(config, call.deps.region);
  });

  route('DELETE', '/2015-03-31/functions/:name', async (call) => {
    const named = functionNameOf(call);
    if (named.qualifier && !/^([0-9]+|\$LATEST)$/.test(named.qualifier)) throw invalid('Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.');
    await call.deps.registry.delete(call.account, named.name, named.qualifier);
    call.reply.code(204).send();
  });

  route('PUT', '/2017-10-31/functions/:name/concurrency', async (call) => {
    const body = jsonBody<{ ReservedConcurrentExecutions?: number }>(call);
    if (typeof body.ReservedConcurrentExecutions !== 'number') throw invalid('ReservedConcurrentExecutions is required.');
    await call.deps.registry.putConcurrency(call.account, functionNameOf(call).name, body.ReservedConcurrentExecutions);
    return { ReservedConcurrentExecutions: body.ReservedConcurrentExecutions };
  });

  route('GET', '/2019-09-30/functions/:name/concurrency', async (call) => {
    const head = await call.deps.registry.head(call.account, functionNameOf(call).name);
    return head.reservedConcurrency === null ? {} : { ReservedConcurrentExecutions: head.reservedConcurrency };
  });

  route('DELETE', '/2017-10-31/functions/:name/concurrency', async (call) => {
    await call.deps.registry.putConcurrency(call.account, functionNameOf(call).name, null);
    call.reply.code(204).send();
  });

  // Seed 16 (Cairn-specific): warm N environments of a version ahead of a burst.
  route('PUT', '/2015-03-31/functions/:name/cairn-warm', async (call) => warm(call));

  route('GET', '/2015-03-31/cairn-failed-events', async (call) => ({ FailedEvents: await call.deps.asyncInvoker.listFailed(call.account) }));
}

async function warm(call: LambdaCall): Promise<unknown> {
  const count = Number((call.request.query as { count?: string }).count ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > warmCountMax) throw invalid(`count must be an integer in [1, ${warmCountMax}]`);
  const named = functionNameOf(call);
  const { head, config } = await call.deps.aliases.resolveForInvoke(call.account, named.name, named.qualifier, () => 0);
  if (head.reservedConcurrency === 0) throw new LambdaError('TooManyRequestsException', 'Rate Exceeded.');
  const ready = await call.deps.scheduler.warm(config, count, head.reservedConcurrency);
  return { FunctionName: named.name, Version: config.functionVersion, WarmEnvironments: ready };
}
