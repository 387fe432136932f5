// A seal worker that dies (process.exit inside the worker thread) when a batch holds a job whose
// input starts with "crash!": seal-pool.test.ts uses it to prove a crash rejects exactly the
// jobs the worker held and that the pool starts a replacement.
import { parentPort } from 'node:worker_threads';
import { assert } from '../../dedup/errors.js';
import { runSealBatch, sealSlotHeadBytes, type SealBatchRequest } from './seal-batch.js';

const marker = Buffer.from('crash!');
const port = parentPort;
assert(port !== null, 'runs in a worker thread');
port.on('message', (request: SealBatchRequest) => {
  const bytes = Buffer.from(request.buffer);
  for (const slot of request.slots) {
    const start = slot.offset + sealSlotHeadBytes;
    if (slot.kind === 'seal' && bytes.subarray(start, start + marker.length).equals(marker)) process.exit(7);
  }
  const reply = runSealBatch(request);
  port.postMessage(reply, [reply.buffer]);
});
