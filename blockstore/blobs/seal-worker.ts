// Seal-pool worker thread entry (seal-pool.ts starts it): runs each batch it is sent and sends
// the same buffer back, transferred. Holds no state between batches, so a restart loses nothing.
import { parentPort } from 'node:worker_threads';
import { assert } from '../../dedup/errors.js';
import { runSealBatch, type SealBatchRequest } from './seal-batch.js';

const port = parentPort;
assert(port !== null, 'seal-worker runs in a worker thread');
port.on('message', (request: SealBatchRequest) => {
  const reply = runSealBatch(request);
  port.postMessage(reply, [reply.buffer]);
});
