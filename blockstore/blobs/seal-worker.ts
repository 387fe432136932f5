// Seal-pool worker thread entry (seal-pool.ts starts it): runs each batch it is sent and sends
// the same buffer back, transferred. Holds no state between batches, so a restart loses nothing.
import { parentPort } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { assert } from '../../dedup/errors.js';
import { sealPoolLimits } from './limits.js';
import { runSealBatch, type SealBatchRequest } from './seal-batch.js';

// Why this worker scavenges by hand: it allocates almost no JS objects, so its young generation
// seldom fills, and the Buffers node's cipher and hash calls return (a 64 KiB one per chunk) stay
// as garbage until V8's external-memory trigger tens of MiB later. glibc keeps that high-water
// mark of the thread's arena resident: sealing 200 MB through both workers left RSS at 158 MiB,
// 115 with a minor GC every 4 MiB (which sweeps young ArrayBuffers in ~0.1 ms; measured beside
// 64 allocations, no slower). gc() exists only under --expose-gc; the flag set now applies to
// contexts made after it, so a fresh context hands us the function.
setFlagsFromString('--expose-gc');
const scavenge = runInNewContext('gc') as (options: { type: 'minor' }) => void;

const port = parentPort;
assert(port !== null, 'seal-worker runs in a worker thread');
let bytesSinceScavenge = 0;
port.on('message', (request: SealBatchRequest) => {
  const reply = runSealBatch(request);
  bytesSinceScavenge += reply.buffer.byteLength;
  port.postMessage(reply, [reply.buffer]);
  if (bytesSinceScavenge >= sealPoolLimits.workerScavengeBytes) {
    bytesSinceScavenge = 0;
    scavenge({ type: 'minor' });
  }
});
