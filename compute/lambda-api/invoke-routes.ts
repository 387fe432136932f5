// Invoke (Lambda API Reference, "Invoke"): RequestResponse runs and answers 200 with the result
// (function errors too, flagged by X-Amz-Function-Error: Unhandled); Event queues durably and
// answers 202; DryRun checks the function and permissions and answers 204. LogType Tail returns
// the last 4 KB of the invocation's log, base64, in X-Amz-Log-Result.
import { randomUUID } from 'node:crypto';
import { LambdaError, invalid } from '../errors.js';
import { eventPayloadBytesMax, invokePayloadBytesMax, logTailBytes } from '../limits.js';
import type { LambdaCall, Route } from './app.js';
import { functionNameOf } from './function-name.js';

type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

function payloadOf(call: LambdaCall, limit: number): string {
  if (call.body.length > limit) {
    throw new LambdaError('RequestTooLargeException', `${call.body.length} byte payload is too large for the ${limit === invokePayloadBytesMax ? 'RequestResponse' : 'Event'} invocation type (limit ${limit} bytes)`);
  }
  const text = call.body.length === 0 ? '{}' : call.body.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    throw new LambdaError('InvalidRequestContentException', 'Could not parse request body into json: Could not parse payload into json');
  }
  return text;
}

export function logTail(logs: string): string {
  const bytes = Buffer.from(logs, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - logTailBytes)).toString('base64');
}

export function invokeRoutes(route: Route): void {
  route('POST', '/2015-03-31/functions/:name/invocations', async (call) => {
    const headers = call.request.headers;
    const invocationType = String(headers['x-amz-invocation-type'] ?? 'RequestResponse') as InvocationType;
    if (!['RequestResponse', 'Event', 'DryRun'].includes(invocationType)) throw invalid(`Unsupported invocation type ${invocationType}`);
    const named = functionNameOf(call);
    const { head, config } = await call.deps.aliases.resolveForInvoke(call.account, named.name, named.qualifier, Math.random);
    if (invocationType === 'DryRun') {
      call.reply.code(204).header('X-Amz-Executed-Version', config.functionVersion).send();
      return undefined;
    }
    if (invocationType === 'Event') {
      const payloadJson = payloadOf(call, eventPayloadBytesMax);
      const requestId = await call.deps.asyncInvoker.enqueueInvoke(call.account, named.name, named.qualifier, payloadJson);
      call.reply.code(202).header('x-amzn-RequestId', requestId).send();
      return undefined;
    }
    const payloadJson = payloadOf(call, invokePayloadBytesMax);
    const requestId = randomUUID();
    const result = await call.deps.scheduler.invoke(config, {
      payloadJson, requestId, invokedArn: call.deps.registry.arn(call.account, named.name, named.qualifier),
    }, head.reservedConcurrency);
    call.reply.code(200).header('x-amzn-RequestId', requestId).header('X-Amz-Executed-Version', result.executedVersion)
      .header('X-Cairn-Environment-Start', result.environmentStart);
    if (!result.ok) call.reply.header('X-Amz-Function-Error', 'Unhandled');
    if (String(headers['x-amz-log-type'] ?? 'None') === 'Tail') call.reply.header('X-Amz-Log-Result', logTail(result.framedLogs));
    call.reply.header('content-type', 'application/json').send(result.payloadJson);
    return undefined;
  });
}
