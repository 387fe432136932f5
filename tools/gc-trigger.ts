// Background GC: runs the chunk store's collector every interval, one run at a time.
import type { Logger } from 'pino';
import type { CairnNode } from './node.js';

export function startGcTrigger(node: CairnNode, intervalMs: number, logger: Logger): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    node.chunks.gc()
      .then((result) => { if (result.chunksFreed > 0) logger.info(result, 'gc reclaimed chunks'); })
      .catch((error: unknown) => logger.error({ err: error }, 'gc failed'))
      .finally(() => { running = false; });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
