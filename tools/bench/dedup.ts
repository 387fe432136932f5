// Bench for dedup/: chunker, PUT pipeline (chunk + seal) and GET side (verify id + decrypt),
// each beside node's sha256 of the same bytes measured in the same run (LIMITS.md: sha256 is
// the hardware-bound primitive every path here must call at least once per byte). The pipeline
// runs twice: all on one core, and with blockstore/blobs' seal pool sealing while this thread
// chunks (LIMITS.md: ~430 vs ~750–800 MB/s on a quiet machine).
// Data: 256 MiB from a seeded PRNG, generated once (random bytes, never zeros: LIMITS.md).
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { SealPool, sealPoolLimits } from '../../blockstore/blobs/index.js';
import {
  ContentChunker, type SealedChunk, SplitMix32, deriveSalt, objectChunkerParams, openVerifiedChunk, sealChunk,
} from '../../dedup/index.js';
import { type BenchRow, formatRows } from './report.js';

const dataBytes = 256 << 20;
const pieceBytes = 64 << 10; // what a socket or file stream typically hands us
const rounds = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >>> 1];
}

/** Median MB/s (10^6 bytes per second) of `rounds` runs of `work` over `bytes` bytes. */
function throughput(bytes: number, work: () => void): number {
  const figures: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    work();
    figures.push(bytes / 1e6 / ((performance.now() - started) / 1000));
  }
  return median(figures);
}

/** throughput() for asynchronous work. */
async function throughputAsync(bytes: number, work: () => Promise<void>): Promise<number> {
  const figures: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await work();
    figures.push(bytes / 1e6 / ((performance.now() - started) / 1000));
  }
  return median(figures);
}

/** Chunks here, seals in the pool with a bounded window (as BlobStore's writer does). */
async function pooledPipeline(pool: SealPool, data: Buffer, salt: Buffer): Promise<void> {
  const inflight = new Set<Promise<unknown>>();
  let pending: Buffer[] = [];
  const chunker = new ContentChunker(objectChunkerParams);
  for (let at = 0; at < data.length; at += pieceBytes) {
    pending = chunker.push(data.subarray(at, at + pieceBytes));
    for (const chunk of pending) {
      const job: Promise<unknown> = pool.seal(chunk, salt).then(() => inflight.delete(job));
      inflight.add(job);
    }
    while (inflight.size >= pipelineWindowChunks) await Promise.race(inflight);
  }
  for (const chunk of chunker.end()) inflight.add(pool.seal(chunk, salt));
  await Promise.all(inflight);
}

const pipelineWindowChunks = 128; // ~8 MiB of 64 KiB chunks: blobLimits.putWindowBytes

function chunkAll(data: Buffer, onChunk: (chunk: Buffer) => void, piece = pieceBytes): void {
  const chunker = new ContentChunker(objectChunkerParams);
  for (let at = 0; at < data.length; at += piece) {
    for (const chunk of chunker.push(data.subarray(at, at + piece))) onChunk(chunk);
  }
  for (const chunk of chunker.end()) onChunk(chunk);
}

export async function run(): Promise<BenchRow[]> {
  const data = new SplitMix32(0xbe4c4).bytes(dataBytes);
  const salt = deriveSalt(new SplitMix32(1).bytes(32), 0);
  const sha256Figure = throughput(dataBytes, () => {
    createHash('sha256').update(data).digest();
  });
  let chunkCount = 0;
  const chunkerFigure = throughput(dataBytes, () => {
    chunkCount = 0;
    chunkAll(data, () => chunkCount++);
  });
  const chunkerLargeFigure = throughput(dataBytes, () => chunkAll(data, () => undefined, 1 << 20));
  let sealed: SealedChunk[] = [];
  const pipelineFigure = throughput(dataBytes, () => {
    sealed = [];
    chunkAll(data, (chunk) => sealed.push(sealChunk(chunk, salt)));
  });
  const getFigure = throughput(dataBytes, () => {
    for (const chunk of sealed) openVerifiedChunk(chunk.id, chunk.ciphertext, chunk.key);
  });
  const workers = Math.min(sealPoolLimits.workersMax, availableParallelism());
  const pool = new SealPool({ workers });
  let pooledFigure: number;
  try {
    await pooledPipeline(pool, data.subarray(0, 16 << 20), salt); // start the workers
    pooledFigure = await throughputAsync(dataBytes, () => pooledPipeline(pool, data, salt));
  } finally {
    await pool.close();
  }
  const averageKiB = (dataBytes / chunkCount / 1024).toFixed(1);
  const reference = { unit: 'MB/s', referenceName: 'node sha256 same bytes', referenceFigure: sha256Figure, higherIsBetter: true };
  return [
    { name: 'dedup FastCDC chunker 16/64/256 KiB', figure: chunkerFigure, ...reference, note: `${chunkCount} chunks, avg ${averageKiB} KiB, 64 KiB pushes` },
    { name: 'dedup FastCDC chunker, 1 MiB pushes', figure: chunkerLargeFigure, ...reference, note: 'fewer chunks span two pushes, so fewer copies' },
    { name: 'dedup PUT pipeline chunk+key+AES-GCM+id', figure: pipelineFigure, ...reference, note: 'MB/s of plaintext, one core' },
    { name: 'dedup PUT pipeline, seal pool', figure: pooledFigure, ...reference, note: `chunk here, seal on ${workers} workers, ${pipelineWindowChunks} chunks in flight` },
    { name: 'dedup GET verify id + decrypt', figure: getFigure, ...reference, note: 'MB/s of plaintext, one core' },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  console.log(formatRows(rows));
}
