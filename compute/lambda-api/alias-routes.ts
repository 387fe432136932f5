// PublishVersion, ListVersionsByFunction, Create/Get/Update/Delete/ListAliases and
// AddPermission/RemovePermission/GetPolicy (Lambda API Reference). Parsing only; the rules live
// in functions/registry.ts and functions/aliases.ts.
import { invalid } from '../errors.js';
import { jsonBody, type Route } from './app.js';
import { functionNameOf } from './function-name.js';
import { aliasShape, configurationShape } from './shapes.js';

interface AliasBody { Name?: string; FunctionVersion?: string; Description?: string; RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> }; RevisionId?: string }

export function aliasRoutes(route: Route): void {
  route('POST', '/2015-03-31/functions/:name/versions', async (call) => {
    const body = jsonBody<{ CodeSha256?: string; Description?: string; RevisionId?: string }>(call);
    const config = await call.deps.registry.publishVersion(call.account, functionNameOf(call).name, { codeSha256: body.CodeSha256, description: body.Description, revisionId: body.RevisionId });
    call.reply.code(201);
    return configurationShape(config, call.deps.region);
  });

  route('GET', '/2015-03-31/functions/:name/versions', async (call) => {
    const versions = await call.deps.registry.listVersions(call.account, functionNameOf(call).name);
    return { Versions: versions.map((config) => configurationShape(config, call.deps.region)) };
  });

  route('POST', '/2015-03-31/functions/:name/aliases', async (call) => {
    const body = jsonBody<AliasBody>(call);
    const { name } = functionNameOf(call);
    const alias = await call.deps.aliases.create(call.account, name, {
      name: String(body.Name ?? ''), functionVersion: body.FunctionVersion, description: body.Description, additionalVersionWeights: body.RoutingConfig?.AdditionalVersionWeights,
    });
    call.reply.code(201);
    return aliasShape(alias, { account: call.account, name }, call.deps.region);
  });

  route('GET', '/2015-03-31/functions/:name/aliases', async (call) => {
    const { name } = functionNameOf(call);
    const aliases = await call.deps.aliases.list(call.account, name, (call.request.query as { FunctionVersion?: string }).FunctionVersion);
    return { Aliases: aliases.map((alias) => aliasShape(alias, { account: call.account, name }, call.deps.region)) };
  });

  route('GET', '/2015-03-31/functions/:name/aliases/:alias', async (call) => {
    const { name } = functionNameOf(call);
    const alias = await call.deps.aliases.get(call.account, name, (call.request.params as { alias: string }).alias);
    return aliasShape(alias, { account: call.account, name }, call.deps.region);
  });

  route('PUT', '/2015-03-31/functions/:name/aliases/:alias', async (call) => {
    const body = jsonBody<AliasBody>(call);
    const { name } = functionNameOf(call);
    const alias = await call.deps.aliases.update(call.account, name, {
      name: (call.request.params as { alias: string }).alias, functionVersion: body.FunctionVersion, description: body.Description,
      additionalVersionWeights: body.RoutingConfig?.AdditionalVersionWeights, revisionId: body.RevisionId,
    });
    return aliasShape(alias, { account: call.account, name }, call.deps.region);
  });

  route('DELETE', '/2015-03-31/functions/:name/aliases/:alias', async (call) => {
    await call.deps.aliases.delete(call.account, functionNameOf(call).name, (call.request.params as { alias: string }).alias);
    call.reply.code(204).send();
  });

  route('POST', '/2015-03-31/functions/:name/policy', async (call) => {
    const body = jsonBody<{ StatementId?: string; Action?: string; Principal?: string; SourceArn?: string; SourceAccount?: string }>(call);
    if (!body.StatementId) throw invalid('StatementId is required.');
    const named = functionNameOf(call);
    const statement = await call.deps.aliases.addPermission(call.account, named.name, {
      statementId: body.StatementId, action: String(body.Action ?? ''), principal: String(body.Principal ?? ''),
      sourceArn: body.SourceArn, sourceAccount: body.SourceAccount, qualifier: named.qualifier,
    });
    call.reply.code(201);
    return { Statement: JSON.stringify(statement) };
  });

  route('DELETE', '/2015-03-31/functions/:name/policy/:sid', async (call) => {
    await call.deps.aliases.removePermission(call.account, functionNameOf(call).name, (call.request.params as { sid: string }).sid);
    call.reply.code(204).send();
  });

  route('GET', '/2015-03-31/functions/:name/policy', async (call) => {
    const named = functionNameOf(call);
    const result = await call.deps.aliases.policy(call.account, named.name, named.qualifier);
    return { Policy: result.policy, RevisionId: result.revisionId };
  });
}
