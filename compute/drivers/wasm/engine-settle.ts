// Drives a guest promise to settlement: runs QuickJS's job queue, pumps the guest's timer table
// from the host clock, and stops at the deadline. Also shapes guest failures as Lambda errors.
import { setTimeout as sleep } from 'node:timers/promises';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { assert } from '../../../dedup/errors.js';
import type { FunctionError } from '../driver.js';

type CallResult = ReturnType<QuickJSContext['callFunction']>;

export interface PromiseDriver {
  readonly context: QuickJSContext;
  readonly deadlineMs: number;
  readonly interrupted: boolean;
  callControl(method: string, args: (string | QuickJSHandle)[]): CallResult;
}

export type Settled =
  | { kind: 'value'; handle: QuickJSHandle } // caller disposes
  | { kind: 'error'; error: FunctionError }
  | { kind: 'timeout' };

const settleRoundsMax = 10_000_000; // each round sleeps or runs a timer; the deadline ends it first

export async function drivePromise(driver: PromiseDriver, start: () => CallResult): Promise<Settled> {
  const first = start();
  if (first.error) return failure(driver, first.error);
  const promise = first.value;
  try {
    for (let round = 0; round < settleRoundsMax; round++) {
      const jobs = driver.context.runtime.executePendingJobs();
      if (jobs.error) return failure(driver, jobs.error);
      if (driver.interrupted) return { kind: 'timeout' };
      const state = driver.context.getPromiseState(promise);
      if (state.type === 'fulfilled') return { kind: 'value', handle: state.notAPromise ? promise.dup() : state.value };
      if (state.type === 'rejected') return failure(driver, state.error);
      const uncaught = stringResult(driver, driver.callControl('takeUncaught', []));
      if (uncaught) return { kind: 'error', error: JSON.parse(uncaught) as FunctionError };
      const delayMs = Number(stringResult(driver, driver.callControl('nextTimerDelay', [])));
      if (delayMs < 0) {
        return { kind: 'error', error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited without providing a reason: the handler\'s promise can never settle (no timers pending)', trace: [] } };
      }
      const remainingMs = driver.deadlineMs - Date.now();
      if (remainingMs <= 0) return { kind: 'timeout' };
      // A timer already due (setTimeout(fn, 0): the shim's host-call hand-off, user code) fires
      // after one turn of the event loop, not after a Node timer: setTimeout(0) is >= 1 ms and
      // far more on a loaded machine, paid on every leg. The turn keeps other environments of
      // this worker served while a guest spins on zero-delay timers.
      if (delayMs <= 0) await new Promise<void>((resolve) => setImmediate(resolve));
      else await sleep(Math.min(delayMs, remainingMs));
      const fired = driver.callControl('runDueTimers', []);
      if (fired.error) return failure(driver, fired.error);
      fired.value.dispose();
    }
    assert(false, 'settle rounds exhausted before the deadline');
  } finally {
    promise.dispose();
  }
}

function stringResult(driver: PromiseDriver, result: CallResult): string {
  const handle = driver.context.unwrapResult(result);
  try {
    return String(driver.context.dump(handle));
  } finally {
    handle.dispose();
  }
}

/** Shapes (and disposes) a guest exception. Interrupts become timeouts. */
export function failure(driver: PromiseDriver, errorHandle: QuickJSHandle): Settled {
  try {
    if (driver.interrupted) return { kind: 'timeout' };
    const shaped = driver.callControl('errorJson', [errorHandle]);
    if (!shaped.error) {
      const text = driver.context.getString(shaped.value);
      shaped.value.dispose();
      return { kind: 'error', error: JSON.parse(text) as FunctionError };
    }
    shaped.error.dispose();
    // The guest could not even shape the error (e.g. out of memory): dump it from the host.
    const dumped = driver.context.dump(errorHandle) as { name?: string; message?: string } | string;
    const name = typeof dumped === 'object' && dumped ? String(dumped.name ?? 'Error') : 'Error';
    const message = typeof dumped === 'object' && dumped ? String(dumped.message ?? '') : String(dumped);
    return { kind: 'error', error: { errorType: name, errorMessage: message, trace: [] } };
  } finally {
    errorHandle.dispose();
  }
}

export function timeoutError(timeoutMs: number, requestId: string): FunctionError {
  // Lambda's invoke response for a timeout (errorType Sandbox.Timedout); the log line carries
  // the classic "<time> <request id> Task timed out after 3.00 seconds" form.
  return { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, trace: [] };
}

/** Lambda's init-phase error types (Runtime.UserCodeSyntaxError, Runtime.ImportModuleError…). */
export function classifyLoadError(error: FunctionError): FunctionError {
  if (error.errorType === 'SyntaxError') {
    return { errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${error.errorMessage}`, trace: [`Runtime.UserCodeSyntaxError: SyntaxError: ${error.errorMessage}`, ...error.trace.slice(1)] };
  }
  if (error.errorType === 'Runtime.HandlerNotFound') return { ...error, trace: [`Runtime.HandlerNotFound: ${error.errorMessage}`] };
  if (/^Cannot find module /.test(error.errorMessage)) {
    return { errorType: 'Runtime.ImportModuleError', errorMessage: `Error: ${error.errorMessage}`, trace: [`Runtime.ImportModuleError: Error: ${error.errorMessage}`, ...error.trace.slice(1)] };
  }
  return error;
}
