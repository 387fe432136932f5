// A digest worker that dies (process.exit inside the worker thread) when it is sent a staging
// buffer holding exactly crashLength bytes: digest-thread.test.ts uses it to prove a crash fails
// the bodies in progress with InternalError and that the next body runs on a replacement.
import { parentPort } from 'node:worker_threads';
import { assert } from '../../dedup/errors.js';
import type { DigestRequest } from './digest-worker.js';
// The real worker, imported statically so its listener is attached before any message arrives
// (a port starts delivering as soon as its first listener is attached).
import './digest-worker.js';

export const crashLength = 12_345;
const port = parentPort;
assert(port !== null, 'runs in a worker thread');
// Runs after the real worker's listener, which has hashed the buffer and sent it back (detached
// here: only its length is left to look at); then the thread dies.
port.on('message', (request: DigestRequest) => {
  if (request.kind === 'data' && request.length === crashLength) process.exit(7);
});
