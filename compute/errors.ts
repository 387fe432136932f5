// The compute tier's typed errors and the Lambda error table (STYLE.md §7). Codes are Lambda's
// own exception names (Lambda API Reference, each action's "Errors" section); the table gives the
// HTTP status the AWS SDKs expect beside the x-amzn-ErrorType header.
import { CairnError } from '../dedup/errors.js';

export type LambdaErrorCode =
  | 'ResourceNotFoundException' | 'ResourceConflictException' | 'InvalidParameterValueException'
  | 'InvalidRequestContentException' | 'RequestTooLargeException' | 'TooManyRequestsException'
  | 'PreconditionFailedException' | 'ServiceException' | 'AccessDeniedException'
  | 'UnrecognizedClientException' | 'InvalidSignatureException' | 'UnsupportedMediaTypeException';

export const lambdaErrorStatus: Readonly<Record<LambdaErrorCode, number>> = {
  ResourceNotFoundException: 404,
  ResourceConflictException: 409,
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  RequestTooLargeException: 413,
  TooManyRequestsException: 429,
  PreconditionFailedException: 412,
  ServiceException: 500,
  AccessDeniedException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  UnsupportedMediaTypeException: 415,
};

export class LambdaError extends CairnError<LambdaErrorCode> {}

export function notFound(what: string): LambdaError {
  return new LambdaError('ResourceNotFoundException', what);
}

export function invalid(message: string): LambdaError {
  return new LambdaError('InvalidParameterValueException', message);
}
