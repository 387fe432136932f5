// FunctionName as Lambda accepts it: "name", "name:qualifier", "account:function:name[:q]" or a
// full ARN. Another account's ARN is refused (tenant isolation: functions belong to their user).
import { LambdaError, invalid } from '../errors.js';
import { functionNamePattern } from '../functions/records.js';
import type { LambdaCall } from './app.js';

export interface NamedFunction {
  name: string;
  qualifier?: string;
}

export function functionNameOf(call: LambdaCall): NamedFunction {
  const raw = decodeURIComponent(String((call.request.params as { name?: string }).name ?? ''));
  const query = call.request.query as { Qualifier?: string };
  const named = parseFunctionName(raw, call.account);
  const qualifier = query.Qualifier ?? named.qualifier;
  if (named.qualifier && query.Qualifier && named.qualifier !== query.Qualifier) throw invalid('The derived qualifier from the function name does not match the specified qualifier.');
  return { name: named.name, ...(qualifier ? { qualifier } : {}) };
}

export function parseFunctionName(raw: string, account: string): NamedFunction {
  const parts = raw.split(':');
  let rest = parts;
  if (parts[0] === 'arn') {
    if (parts.length < 7 || parts[2] !== 'lambda' || parts[5] !== 'function') throw invalid(`1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint`);
    if (parts[4] !== account) throw new LambdaError('AccessDeniedException', `User is not authorized to access ${raw}`);
    rest = parts.slice(6);
  } else if (parts.length >= 3 && parts[1] === 'function') {
    if (parts[0] !== account) throw new LambdaError('AccessDeniedException', `User is not authorized to access ${raw}`);
    rest = parts.slice(2);
  }
  const [name, qualifier] = rest;
  if (!name || !functionNamePattern.test(name) || rest.length > 2) throw invalid(`1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint`);
  return { name, ...(qualifier ? { qualifier } : {}) };
}
