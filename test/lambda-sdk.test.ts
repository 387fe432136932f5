// Method: one real `cairn serve` child; @aws-sdk/client-lambda and the aws CLI drive the Lambda
// API end to end (functions, invocations, versions, aliases, permissions), then the failure
// shapes a Lambda user relies on: timeouts, memory exhaustion, infinite loops, syntax errors,
// throwing handlers, bad zips, oversized payloads. Single use (seed 7): a global set in one
// call is gone in the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AddPermissionCommand, CreateAliasCommand, CreateFunctionCommand, DeleteAliasCommand, DeleteFunctionCommand, GetAliasCommand,
  GetFunctionCommand, GetFunctionConfigurationCommand, GetPolicyCommand, InvokeCommand, ListAliasesCommand, ListFunctionsCommand,
  ListVersionsByFunctionCommand, PublishVersionCommand, RemovePermissionCommand, UpdateAliasCommand, UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand, type LambdaClient,
} from '@aws-sdk/client-lambda';
import { removeDataDir, startCairn, type CairnProcess } from './helpers/cairn-process.js';
import { awsCliFor, type AwsCli } from './helpers/aws-cli.js';
import { decode, lambdaClientFor, role, zipOf } from './helpers/lambda.js';

let cairn: CairnProcess;
let lambda: LambdaClient;

const create = (name: string, source: string, extra: Record<string, unknown> = {}) => lambda.send(new CreateFunctionCommand({
  FunctionName: name, Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': source }) }, ...extra,
}));
const invoke = (name: string, payload: unknown = {}, extra: Record<string, unknown> = {}) => lambda.send(new InvokeCommand({
  FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)), ...extra,
}));

beforeAll(async () => {
  cairn = await startCairn();
  lambda = lambdaClientFor(cairn);
});

afterAll(async () => {
  lambda?.destroy();
  await cairn?.stop();
  if (cairn) await removeDataDir(cairn.dataDir);
});

describe('Lambda API through @aws-sdk/client-lambda', () => {
  it('creates, gets, lists, invokes (with Tail logs), updates and deletes a function', async () => {
    const created = await create('echo', `exports.handler = async (event, context) => { console.log('got', event.n); return { n: event.n * 2, name: context.functionName }; };`);
    expect(created.FunctionArn).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:echo$/);
    expect(created.State).toBe('Active');
    expect(created.CodeSha256).toMatch(/=$/);
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'echo' }));
    expect(got.Configuration?.Handler).toBe('index.handler');
    const listed = await lambda.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((f) => f.FunctionName)).toContain('echo');
    const result = await invoke('echo', { n: 21 }, { LogType: 'Tail' });
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBeUndefined();
    expect(decode(result.Payload)).toEqual({ n: 42, name: 'echo' });
    const logs = Buffer.from(result.LogResult!, 'base64').toString('utf8');
    expect(logs).toContain('got 21');
    expect(logs).toMatch(/START RequestId: .*\n[\s\S]*REPORT RequestId/);
    const updated = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'echo', MemorySize: 256, Timeout: 5, Environment: { Variables: { GREETING: 'hi' } } }));
    expect(updated.MemorySize).toBe(256);
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'echo', ZipFile: zipOf({ 'index.js': `exports.handler = async () => process.env.GREETING + ' v2';` }) }));
    expect(decode((await invoke('echo')).Payload)).toBe('hi v2');
    const configuration = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    expect(configuration.Environment?.Variables).toEqual({ GREETING: 'hi' });
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'echo' }));
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'echo' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  it('answers Event with 202, DryRun with 204, and refuses conflicts, bad zips and 6 MB payloads', async () => {
    await create('quiet', `exports.handler = async () => 'ok';`);
    expect((await invoke('quiet', {}, { InvocationType: 'Event' })).StatusCode).toBe(202);
    expect((await invoke('quiet', {}, { InvocationType: 'DryRun' })).StatusCode).toBe(204);
    await expect(create('quiet', 'x')).rejects.toMatchObject({ name: 'ResourceConflictException' });
    await expect(lambda.send(new CreateFunctionCommand({ FunctionName: 'broken', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: Buffer.from('not a zip at all') } })))
      .rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringContaining('Could not unzip uploaded file') });
    await expect(invoke('quiet', { big: 'x'.repeat(6 * 1024 * 1024 + 10) })).rejects.toMatchObject({ name: 'RequestTooLargeException', $metadata: { httpStatusCode: 413 } });
    await expect(invoke('missing')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('publishes immutable versions and routes aliases to them', async () => {
    await create('versioned', `exports.handler = async () => 'one';`);
    const v1 = await lambda.send(new PublishVersionCommand({ FunctionName: 'versioned' }));
    expect(v1.Version).toBe('1');
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'versioned', ZipFile: zipOf({ 'index.js': `exports.handler = async () => 'two';` }) }));
    const v2 = await lambda.send(new PublishVersionCommand({ FunctionName: 'versioned' }));
    expect(v2.Version).toBe('2');
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'versioned' }));
    expect(versions.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '2']);
    expect(decode((await invoke('versioned', {}, { Qualifier: '1' })).Payload)).toBe('one');
    expect(decode((await invoke('versioned')).Payload)).toBe('two');
    const alias = await lambda.send(new CreateAliasCommand({ FunctionName: 'versioned', Name: 'live', FunctionVersion: '1' }));
    expect(alias.AliasArn).toMatch(/:function:versioned:live$/);
    expect(decode((await invoke('versioned', {}, { Qualifier: 'live' })).Payload)).toBe('one');
    await lambda.send(new UpdateAliasCommand({ FunctionName: 'versioned', Name: 'live', FunctionVersion: '2' }));
    expect((await lambda.send(new GetAliasCommand({ FunctionName: 'versioned', Name: 'live' }))).FunctionVersion).toBe('2');
    expect(decode((await invoke('versioned:live')).Payload)).toBe('two');
    expect((await lambda.send(new ListAliasesCommand({ FunctionName: 'versioned' }))).Aliases?.map((a) => a.Name)).toEqual(['live']);
    await lambda.send(new DeleteAliasCommand({ FunctionName: 'versioned', Name: 'live' }));
    await expect(invoke('versioned', {}, { Qualifier: 'live' })).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('adds, reads and removes resource-policy permissions', async () => {
    await create('guarded', `exports.handler = async () => 1;`);
    const added = await lambda.send(new AddPermissionCommand({ FunctionName: 'guarded', StatementId: 's3-invoke', Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com', SourceArn: 'arn:aws:s3:::photos' }));
    expect(JSON.parse(added.Statement!)).toMatchObject({ Sid: 's3-invoke', Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' } });
    const policy = JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName: 'guarded' }))).Policy!);
    expect(policy.Statement).toHaveLength(1);
    await expect(lambda.send(new AddPermissionCommand({ FunctionName: 'guarded', StatementId: 's3-invoke', Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com' })))
      .rejects.toMatchObject({ name: 'ResourceConflictException' });
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'guarded', StatementId: 's3-invoke' }));
    await expect(lambda.send(new GetPolicyCommand({ FunctionName: 'guarded' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('reports function failures as Lambda does: throw, syntax error, missing module, timeout, loop, memory', async () => {
    const failure = async (name: string, source: string | Record<string, string>, extra: Record<string, unknown> = {}) => {
      await lambda.send(new CreateFunctionCommand({ FunctionName: name, Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler',
        Code: { ZipFile: zipOf(typeof source === 'string' ? { 'index.js': source } : source) }, ...extra }));
      const result = await invoke(name, {}, { LogType: 'Tail' });
      expect(result.StatusCode).toBe(200);
      expect(result.FunctionError).toBe('Unhandled');
      return { error: decode(result.Payload) as { errorType: string; errorMessage: string; trace: string[] }, logs: Buffer.from(result.LogResult ?? '', 'base64').toString() };
    };
    const thrown = await failure('thrower', `exports.handler = async () => { class BadThing extends Error { constructor(m) { super(m); this.name = 'BadThing'; } } throw new BadThing('nope'); };`);
    expect(thrown.error).toMatchObject({ errorType: 'BadThing', errorMessage: 'nope' });
    expect(Array.isArray(thrown.error.trace)).toBe(true);
    expect((await failure('syntax', `exports.handler = async () => { return 1 +; };`)).error.errorType).toBe('Runtime.UserCodeSyntaxError');
    expect((await failure('nomodule', { 'other.js': 'exports.handler = () => 1;' })).error.errorType).toBe('Runtime.ImportModuleError');
    const timeout = await failure('sleepy', `exports.handler = () => new Promise((resolve) => setTimeout(resolve, 5000));`, { Timeout: 1 });
    expect(timeout.error.errorMessage).toContain('Task timed out after 1.00 seconds');
    const loop = await failure('looper', `exports.handler = async () => { for (;;) {} };`, { Timeout: 1 });
    expect(loop.error.errorMessage).toContain('Task timed out after 1.00 seconds');
    const memory = await failure('hog', `exports.handler = async () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(1)); };`, { MemorySize: 128, Timeout: 10 });
    expect(memory.error.errorType + memory.error.errorMessage).toMatch(/OutOfMemory|out of memory/i);
    // The node is fine afterwards: a healthy function still answers.
    expect(decode((await invoke('guarded')).Payload)).toBe(1);
  });

  it('resets a single-use function to its snapshot after every invocation (seed 7)', async () => {
    const source = `let counter = 0; exports.handler = async () => { counter++; globalThis.seen = (globalThis.seen || 0) + 1; return [counter, globalThis.seen]; };`;
    await create('reused', source);
    await create('single', source, { Environment: { Variables: { CAIRN_SINGLE_USE: 'true' } } });
    expect(decode((await invoke('reused')).Payload)).toEqual([1, 1]);
    expect(decode((await invoke('reused')).Payload)).toEqual([2, 2]);
    for (let round = 0; round < 3; round++) expect(decode((await invoke('single')).Payload)).toEqual([1, 1]);
  });
});

describe('Lambda API through the aws CLI', () => {
  let cli: AwsCli;
  beforeAll(async () => { cli = await awsCliFor({ ...cairn, endpoint: cairn.lambdaEndpoint }); });
  afterAll(async () => { await cli?.dispose(); });

  it('create-function --zip-file fileb:// and invoke write the result file', async () => {
    const zipPath = join(cairn.dataDir, 'f.zip');
    await writeFile(zipPath, zipOf({ 'index.js': `exports.handler = async (event) => ({ hello: event.who });` }));
    const created = JSON.parse(await cli(['lambda', 'create-function', '--function-name', 'cli-fn', '--runtime', 'nodejs20.x', '--handler', 'index.handler',
      '--zip-file', `fileb://${zipPath}`, '--role', role]));
    expect(created.FunctionName).toBe('cli-fn');
    const outPath = join(cairn.dataDir, 'out.json');
    const invoked = JSON.parse(await cli(['lambda', 'invoke', '--function-name', 'cli-fn', '--payload', '{"who":"cli"}', outPath]));
    expect(invoked.StatusCode).toBe(200);
    const { readFile } = await import('node:fs/promises');
    expect(JSON.parse(await readFile(outPath, 'utf8'))).toEqual({ hello: 'cli' });
  });
});
