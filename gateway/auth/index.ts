// Public surface of gateway/auth/ (import this, not the files behind it).
export { verifySigV4, detectAuthForm, splitRawUrl } from './sigv4-verify.js';
export type { SigV4Request, SigV4Options, SigV4Result, SigV4Credentials, CredentialsLookup, PayloadMode, AuthForm } from './sigv4-verify.js';
export { AwsChunkedDecoder } from './aws-chunked.js';
export type { AwsChunkedMode, AwsChunkedOptions } from './aws-chunked.js';
export { encodeAwsChunked } from './aws-chunked-encoder.js';
export { bodyDecoderFor, awsChunkedModeFor, Sha256VerifyingStream } from './payload.js';
export { deriveSigningKey, SigningKeyCache, parseQuery, type RequestHeaders, type QueryParameter } from './sigv4-canonical.js';
export * as authLimits from './limits.js';
