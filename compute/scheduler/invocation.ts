// One invocation on one environment: the legs of the host-call protocol (guest-shim.ts), the
// overall deadline across legs, and Lambda's log framing (START/END/REPORT).
import type { Environment, FunctionError, InvokeOutcome } from '../drivers/index.js';
import type { FunctionConfigV1 } from '../functions/records.js';
import { hostCallsPerLegMax, hostLegsMax } from '../limits.js';
import { resumeMessage, startMessage, type HostCall, type HostCallResult } from './guest-shim.js';

/** Host services a guest may call during one invocation (cairn.s3.*), bound to its credentials. */
export interface HostServices {
  call(op: string, args: unknown): Promise<unknown>;
}

export interface InvocationRequest {
  payloadJson: string;
  requestId: string;
  env?: Record<string, string>;   // per-invocation variables (scoped credentials)
  host?: HostServices;
  invokedArn: string;
}

export interface InvocationResult {
  ok: boolean;
  payloadJson: string;            // the result, or Lambda's error JSON when !ok
  error?: FunctionError;
  logs: string;
  durationMs: number;
  executedVersion: string;
  environmentHealth: 'reusable' | 'discard';
}

export async function runLegs(environment: Environment, config: FunctionConfigV1, request: InvocationRequest, clock: () => number): Promise<InvocationResult> {
  const startedMs = clock();
  const deadlineMs = startedMs + config.timeout * 1000;
  let message = startMessage(request.payloadJson, request.env ?? {});
  let logs = '';
  for (let leg = 0; leg < hostLegsMax; leg++) {
    const remainingMs = Math.max(1, deadlineMs - clock());
    const outcome: InvokeOutcome = await environment.invoke({
      eventJson: message, timeoutMs: remainingMs,
      context: { requestId: request.requestId, functionName: config.name, memoryLimitInMB: config.memorySize, deadlineMs,
        functionVersion: config.functionVersion, invokedFunctionArn: request.invokedArn },
    });
    logs += outcome.logs;
    const durationMs = clock() - startedMs;
    if (!outcome.ok) {
      const error = outcome.error.errorType === 'Sandbox.Timedout' ? timedOut(config, request.requestId) : outcome.error;
      if (error !== outcome.error) logs = logs.replace(/Task timed out after [0-9.]+ seconds/g, `Task timed out after ${config.timeout.toFixed(2)} seconds`);
      return { ok: false, payloadJson: JSON.stringify(error), error, logs, durationMs, executedVersion: config.functionVersion, environmentHealth: outcome.environment };
    }
    // The shim answers {"__cairnResult":…} or {"__cairnCalls":[…]} (guest-shim.ts). The result is
    // cut out of the JSON text rather than parsed and re-encoded: a 6 MB payload would be both.
    const payloadJson = resultOf(outcome.resultJson);
    if (payloadJson === undefined) {
      const parsed = JSON.parse(outcome.resultJson) as { __cairnCalls?: HostCall[] };
      if (!parsed.__cairnCalls) return { ok: true, payloadJson: outcome.resultJson, logs, durationMs, executedVersion: config.functionVersion, environmentHealth: outcome.environment };
      message = resumeMessage(await serveCalls(parsed.__cairnCalls, request.host));
      continue;
    }
    return { ok: true, payloadJson, logs, durationMs, executedVersion: config.functionVersion, environmentHealth: outcome.environment };
  }
  const error: FunctionError = { errorType: 'Runtime.HostCallLimit', errorMessage: `more than ${hostLegsMax} rounds of host calls in one invocation`, trace: [] };
  return { ok: false, payloadJson: JSON.stringify(error), error, logs, durationMs: clock() - startedMs, executedVersion: config.functionVersion, environmentHealth: 'discard' };
}

const resultPrefix = '{"__cairnResult":';

function resultOf(resultJson: string): string | undefined {
  if (!resultJson.startsWith(resultPrefix)) return undefined;
  return resultJson.slice(resultPrefix.length, -1);
}

async function serveCalls(calls: HostCall[], host: HostServices | undefined): Promise<HostCallResult[]> {
  return Promise.all(calls.map(async (call, index): Promise<HostCallResult> => {
    if (index >= hostCallsPerLegMax) return { id: call.id, ok: false, error: { name: 'TooManyRequestsException', message: `more than ${hostCallsPerLegMax} host calls at once` } };
    if (!host) return { id: call.id, ok: false, error: { name: 'AccessDenied', message: 'this invocation has no credentials for host services (only triggered invocations get scoped credentials)' } };
    try {
      return { id: call.id, ok: true, value: await host.call(call.op, call.args) };
    } catch (error) {
      const shaped = error instanceof Error ? error : new Error(String(error));
      return { id: call.id, ok: false, error: { name: shaped.name, message: shaped.message } };
    }
  }));
}

function timedOut(config: FunctionConfigV1, requestId: string): FunctionError {
  return { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${config.timeout.toFixed(2)} seconds`, trace: [] };
}

/** Lambda's log framing around the function's own output. */
export function framedLogs(result: InvocationResult, config: FunctionConfigV1, requestId: string, initLogs = ''): string {
  const billed = Math.max(1, Math.ceil(result.durationMs));
  return `${initLogs}START RequestId: ${requestId} Version: ${config.functionVersion}\n${result.logs}END RequestId: ${requestId}\n`
    + `REPORT RequestId: ${requestId}\tDuration: ${result.durationMs.toFixed(2)} ms\tBilled Duration: ${billed} ms\tMemory Size: ${config.memorySize} MB\tMax Memory Used: ${config.memorySize} MB\t\n`;
}
