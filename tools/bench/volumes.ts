// Bench for blockstore/volumes/: a Cairn volume (journal → fold → sealed chunks in the segment
// store, LevelDB map) served over NBD by a real `cairn serve` child process (its launcher's
// settings, its own RSS), against `nbdkit file` on a file in the same temp dir (same disk) and
// `nbdkit memory`, all measured by the same clients in this run (measureNbdTarget in nbd.ts:
// nbdcopy 1 MiB sequential 256 MiB written twice (first after start, then sustained), fio nbd 4 KiB
// QD32 random).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { adminCall } from '../../test/helpers/admin.js';
import { removeDataDir, startCairn } from '../../test/helpers/cairn-process.js';
import { freePort, measureNbdTarget, rssMiB, waitForPort, type NbdTargetFigures } from './nbd.js';
import { type BenchRow, formatRows } from './report.js';

const mebibyte = 1 << 20;
/** Long enough that the random-write phase includes folds (a sustained rate, not a journal-only
 * burst), short enough that the three targets finish in under three minutes. */
const randomSeconds = 15;

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
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  console.log(formatRows(rows));
}
