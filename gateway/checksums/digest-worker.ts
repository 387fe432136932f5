// Digest worker thread entry (digest-thread.ts starts it): keeps one set of running digests per
// body, fed in order through its one message port, and sends every staging buffer back
// (transferred) once hashed so the main thread reuses it. No state outlives a body but its hashes;
// a restart loses only the bodies in progress, which fail.
import { parentPort } from 'node:worker_threads';
import { assert } from '../../dedup/errors.js';
import type { RunningCrc } from './crc.js';
import { digesterFor, type ChecksumAlgorithm } from './digesters.js';

export type DigestRequest =
  | { kind: 'open'; session: number; algorithms: ChecksumAlgorithm[] }
  | { kind: 'data'; session: number; buffer: ArrayBuffer; length: number }
  | { kind: 'finish'; session: number }
  | { kind: 'drop'; session: number };

export type DigestReply =
  | { kind: 'returned'; session: number; buffer: ArrayBuffer }
  | { kind: 'digests'; session: number; digests: [ChecksumAlgorithm, Uint8Array][] };

const port = parentPort;
assert(port !== null, 'digest-worker runs in a worker thread');
const sessions = new Map<number, Map<ChecksumAlgorithm, RunningCrc>>();

port.on('message', (request: DigestRequest) => {
  switch (request.kind) {
    case 'open':
      assert(!sessions.has(request.session), `digest session ${request.session} opened twice`);
      sessions.set(request.session, new Map(request.algorithms.map((algorithm) => [algorithm, digesterFor(algorithm)])));
      return;
    case 'data': {
      // A dropped body's buffers still arrive (they were sent before the drop): only return them.
      const digesters = sessions.get(request.session);
      if (digesters) for (const digester of digesters.values()) digester.update(new Uint8Array(request.buffer, 0, request.length));
      port.postMessage({ kind: 'returned', session: request.session, buffer: request.buffer } satisfies DigestReply, [request.buffer]);
      return;
    }
    case 'finish': {
      const digesters = sessions.get(request.session);
      assert(digesters !== undefined, `digest session ${request.session} finished but not open`);
      sessions.delete(request.session);
      const digests = [...digesters].map(([algorithm, digester]): [ChecksumAlgorithm, Uint8Array] => [algorithm, digester.digest()]);
      port.postMessage({ kind: 'digests', session: request.session, digests } satisfies DigestReply);
      return;
    }
    case 'drop':
      sessions.delete(request.session);
      return;
  }
});
