// Named bounds for the compute tier above the drivers (STYLE.md §12). Lambda's own quotas where
// Lambda has one (Lambda Developer Guide, "Lambda quotas"); relationships asserted at load.
import { assert } from '../dedup/errors.js';

export const invokePayloadBytesMax = 6 * 1024 * 1024;     // synchronous Invoke request and response
export const eventPayloadBytesMax = 256 * 1024;           // asynchronous (Event) invocation payload
export const zipBytesMax = 50 * 1024 * 1024;              // direct-upload deployment package
export const requestBodyBytesMax = 72 * 1024 * 1024;      // a base64 50 MB zip inside CreateFunction JSON
export const functionNameLengthMax = 64;
export const functionsPerAccountMax = 10_000;
export const versionsPerFunctionMax = 1_000;
export const aliasesPerFunctionMax = 100;
export const policyStatementsMax = 100;
export const environmentBytesMax = 4 * 1024;              // Lambda: 4 KB of environment variables
export const memorySizeMin = 128;
export const memorySizeMax = 2000;                        // the wasm driver's cap (drivers/limits.ts)
export const timeoutSecondsMax = 900;
export const concurrencyPerFunctionDefault = 16;          // environments per function version
export const concurrencyPerFunctionMax = 256;
export const waitersPerFunctionMax = 1_000;               // queued synchronous calls beyond the pool
export const hostLegsMax = 64;                            // host calls (cairn.s3.*) batches per invocation
export const hostCallsPerLegMax = 32;
export const hostObjectBytesMax = 5 * 1024 * 1024;        // cairn.s3 bodies crossing into the guest
export const logTailBytes = 4096;                         // X-Amz-Log-Result: the last 4 KB
export const warmCountMax = 64;                           // cairn-warm ?count=
export const codeCacheEntriesMax = 64;
export const recordCacheFunctionsMax = 10_000;                // functions whose decoded records the invoke path keeps
export const listPageMax = 50;                            // ListFunctions MaxItems
export const eventAttemptsMax = 3;                        // Lambda retries async events twice
export const eventBackoffMsBase = 200;
export const eventBackoffMsMax = 10_000;
export const eventsInFlightMax = 16;
export const eventQueueLoadMax = 100_000;                 // events loaded from disk at start
export const failedEventsListMax = 1_000;
export const scopedCredentialTtlMsMax = 15 * 60 * 1000;   // never outlives Lambda's max timeout

assert(eventPayloadBytesMax < invokePayloadBytesMax && invokePayloadBytesMax < requestBodyBytesMax, 'payload bounds');
assert(zipBytesMax * 4 / 3 < requestBodyBytesMax, 'a base64 zip fits the request body');
assert(concurrencyPerFunctionDefault <= concurrencyPerFunctionMax && warmCountMax <= concurrencyPerFunctionMax, 'pool bounds');
assert(eventBackoffMsBase < eventBackoffMsMax && eventAttemptsMax >= 1, 'retry bounds');
assert(scopedCredentialTtlMsMax >= timeoutSecondsMax * 1000, 'credentials live as long as the longest invocation');
