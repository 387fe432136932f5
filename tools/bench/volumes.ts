// Bench for blockstore/volumes/: a Cairn volume (journal → fold → sealed chunks in the segment
// store, LevelDB map) served over NBD by a real `cairn serve` child process (its launcher's
// settings, its own RSS), against `nbdkit file` on a file in the same temp dir (same disk) and
// `nbdkit memory`, all measured by the same clients in this run (measureNbdTarget in nbd.ts:
// nbdcopy 1 MiB sequential 256 MiB written twice (first after start, then sustained), fio nbd 4 KiB
// QD32 random), and the paged seal alone on a seal pool in this process: the ceiling the crypto
// puts on a sequential write here.
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SealPool, sealPoolLimits } from '../../blockstore/blobs/index.js';
import { dedupLimits, pagedFormatWritten } from '../../dedup/index.js';
import { adminCall } from '../../test/helpers/admin.js';
import { removeDataDir, startCairn } from '../../test/helpers/cairn-process.js';
import { freePort, measureNbdTarget, rssMiB, waitForPort, type NbdTargetFigures } from './nbd.js';
import { type BenchRow, formatRows } from './report.js';

const mebibyte = 1 << 20;
/** Long enough that the random-write phase includes folds (a sustained rate, not a journal-only
 * burst), short enough that the three targets finish in under three minutes. */
const randomSeconds = 15;
/** The seal-alone ceiling: as many bytes as one measured write. */
const sealAloneBytes = 256 * mebibyte;
/** Blocks in flight to the pool: more than it takes in (its queue), as a busy volume keeps it. */
const sealAloneInflight = 64;

async function measureCairn(): Promise<{ figures: NbdTargetFigures; rss: number }> {
  // The product as a user runs it: `cairn serve` through its launcher (its memory settings),
  // the volume created over the admin API; RSS is that server process alone.
  const cairn = await startCairn();
  try {
    await adminCall(cairn, 'POST', '/volumes', { name: 'bench', size: '1G' });
    const figures = await measureNbdTarget(`${cairn.nbdEndpoint}/bench`, { randomSeconds });
    return { figures, rss: rssMiB(cairn.child.pid!) };
  } finally {
    await cairn.stop();
    await removeDataDir(cairn.dataDir);
  }
}

/**
 * The ceiling the convergent seal alone puts on a volume's sequential write on this machine: the
 * same 16 KiB-paged seal of 64 KiB blocks (2 × sha256 + 4 AES-GCM pages) the server runs, on a
 * seal pool of its size in this process, with no NBD, no store, no disk. A write can only be
 * slower; set beside `nbdkit file` it shows how much of that reference is reachable at all.
 */
async function measureSealAlone(): Promise<number> {
  const workers = Math.min(sealPoolLimits.workersMax, availableParallelism());
  const pool = new SealPool({ workers });
  const block = dedupLimits.volumeBlockBytes;
  const distinct = 256; // 16 MiB of blocks, sealed over and over: CPU, not memory bandwidth
  const data = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5f), Buffer.alloc(16)).update(Buffer.alloc(distinct * block));
  const salt = Buffer.alloc(dedupLimits.saltBytes, 0x11);
  const sealAll = async (blocks: number): Promise<void> => {
    const inflight = new Set<Promise<void>>();
    for (let index = 0; index < blocks; index++) {
      const plain = data.subarray((index % distinct) * block, (index % distinct + 1) * block);
      const job: Promise<void> = pool.sealLeased(plain, salt, pagedFormatWritten).then((sealed) => { sealed.release(); inflight.delete(job); });
      inflight.add(job);
      if (inflight.size >= sealAloneInflight) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  };
  try {
    await sealAll(distinct); // start the workers
    const started = performance.now();
    await sealAll(sealAloneBytes / block);
    return sealAloneBytes / 1e6 / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}

async function measureNbdkit(args: string[]): Promise<{ figures: NbdTargetFigures; rss: number }> {
  const port = await freePort();
  const nbdkit: ChildProcess = spawn('nbdkit', ['-f', '-p', String(port), '-i', '127.0.0.1', ...args], { stdio: 'ignore' });
  try {
    await waitForPort(port, nbdkit);
    const figures = await measureNbdTarget(`nbd://127.0.0.1:${port}/`, { randomSeconds });
    return { figures, rss: rssMiB(nbdkit.pid!) };
  } finally {
    nbdkit.kill('SIGKILL');
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-volumes-'));
  try {
    const sealAlone = await measureSealAlone();
    const ours = await measureCairn();
    const file = join(dir, 'nbdkit-file.img');
    writeFileSync(file, '');
    truncateSync(file, 1024 * mebibyte);
    const fileTarget = await measureNbdkit(['file', `file=${file}`]);
    const memory = await measureNbdkit(['memory', '1G']);
    const rows: BenchRow[] = [];
    for (const [referenceName, reference] of [['nbdkit file (same disk)', fileTarget], ['nbdkit memory 1G', memory]] as const) {
      const row = (name: string, figure: number, referenceFigure: number, unit: string, higherIsBetter: boolean, note?: string): BenchRow =>
        ({ name, figure, referenceFigure, unit, referenceName, higherIsBetter, note });
      rows.push(
        row('volume seq write 1 MiB first (nbdcopy, flush)', ours.figures.seqWriteFirstMBps, reference.figures.seqWriteFirstMBps, 'MB/s', true, 'the first 256 MiB after start, into a new volume / file'),
        row('volume seq write 1 MiB sustained (nbdcopy, flush)', ours.figures.seqWriteMBps, reference.figures.seqWriteMBps, 'MB/s', true, '256 MiB of other random data over the first'),
        row('volume seq read 1 MiB (nbdcopy)', ours.figures.seqReadMBps, reference.figures.seqReadMBps, 'MB/s', true),
        row('volume rand read 4 KiB QD32 (fio nbd)', ours.figures.randReadIops, reference.figures.randReadIops, 'ops/s', true, `${randomSeconds} s over 256 MiB`),
        row('volume rand write 4 KiB QD32 (fio nbd)', ours.figures.randWriteIops, reference.figures.randWriteIops, 'ops/s', true, `${randomSeconds} s over 256 MiB`),
        row('volume rand 4 KiB QD32 p99 latency', ours.figures.p99Ms, reference.figures.p99Ms, 'ms p99', false, 'worse of read and write'),
        row('volume server RSS after the runs', ours.rss, reference.rss, 'MiB RSS', false, 'the cairn serve process'),
      );
    }
    rows.push({
      name: 'volume block seal alone (no NBD, store, disk)', figure: sealAlone, unit: 'MB/s', referenceName: 'nbdkit file (same disk)',
      referenceFigure: fileTarget.figures.seqWriteMBps, higherIsBetter: true,
      note: `the paged seal on ${Math.min(sealPoolLimits.workersMax, availableParallelism())} workers: a ceiling for seq write; vs sustained`,
    });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  console.log(formatRows(rows));
}
