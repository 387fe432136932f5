// A GET's body from leased pieces (BlobStore.readLeased): each piece is released by its socket
// write's callback, once the kernel has the bytes, so the next pieces reuse the seal pool's batch
// buffers. fastify's reply.send(stream) pipes, and a pipe never says when a piece has been
// written: a 5 GiB GET through it left ~5 GiB of buffers to GC, which V8 and malloc held as RSS.
import type { FastifyReply } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Leased } from '../../blockstore/blobs/index.js';
import { gatewayLimits } from '../limits.js';

/**
 * Sends the reply's status and headers, then `pieces`. The first piece is awaited before anything
 * is written, so a chunk that fails there still becomes an S3 error reply (this rejects). A
 * failure later cuts the connection, as a streamed reply must: the client sees a short body,
 * never wrong bytes. A client that hangs up stops the reading; what was fetched ahead is released.
 * `collectGarbage` runs after each gatewayLimits.collectGarbageBytes sent: with its buffers
 * reused, a GET no longer forces full GCs through external memory, and V8 let the garbage it
 * promotes grow the old generation ~1 MiB/s of streaming (a 5 GiB GET: +40–60 MiB of RSS).
 */
export async function sendPieces(reply: FastifyReply, pieces: AsyncGenerator<Leased<Buffer>>, collectGarbage?: () => void): Promise<void> {
  const first = await pieces.next();
  if (first.done === true) { reply.send(); return; }
  reply.hijack();
  const response = reply.raw;
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = (): void => { closed = true; wake?.(); };
  const onDrain = (): void => wake?.();
  response.once('close', onClose);
  response.on('drain', onDrain);
  try {
    response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    let piece: IteratorResult<Leased<Buffer>> = first;
    let sentSinceCollect = 0;
    while (piece.done !== true && !closed) {
      const { value, release } = piece.value;
      sentSinceCollect += value.length;
      if (sentSinceCollect >= gatewayLimits.collectGarbageBytes) {
        sentSinceCollect = 0;
        collectGarbage?.();
      }
      // The callback runs once the write finished or was given up (the response destroyed);
      // a write refused outright never calls it, which leaves the buffer to GC: the safe side.
      const flowing = response.write(value, () => release());
      // The next piece is asked for before waiting on the socket, so it is ready when the socket is.
      const next = pieces.next();
      next.catch(() => {}); // awaited below; a failure while the socket drains is not unhandled
      if (!flowing && !closed) {
        await new Promise<void>((resolve) => { wake = resolve; });
        wake = undefined;
      }
      piece = await next;
    }
    if (piece.done !== true) piece.value.release(); // fetched after the client left: never written
    if (!closed) response.end();
  } catch {
    response.destroy();
  } finally {
    response.off('close', onClose);
    response.off('drain', onDrain);
    await pieces.return(undefined);
  }
}
