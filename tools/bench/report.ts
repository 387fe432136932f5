// One benchmark figure beside the reference measured in the same run (README: "npm run bench").
export interface BenchRow {
  name: string;            // what was measured, e.g. "S3 PUT 1 GiB single stream"
  figure: number;          // our number
  unit: string;            // "MB/s", "ops/s", "ms p99", "MiB RSS"
  referenceName: string;   // e.g. "plain file write+fsync"
  referenceFigure: number; // the reference, measured in the same run
  higherIsBetter: boolean; // throughput true; latency/RSS false
  note?: string;
}

export function ratioOf(row: BenchRow): number {
  if (row.referenceFigure === 0 || row.figure === 0) return 0;
  return row.higherIsBetter ? row.figure / row.referenceFigure : row.referenceFigure / row.figure;
}

export function formatRows(rows: readonly BenchRow[]): string {
  const lines = rows.map((row) => {
    const ours = `${row.figure.toFixed(row.figure < 10 ? 2 : 0)} ${row.unit}`;
    const theirs = `${row.referenceFigure.toFixed(row.referenceFigure < 10 ? 2 : 0)} ${row.unit}`;
    const note = row.note ? `  (${row.note})` : '';
    return `${row.name.padEnd(48)} ${ours.padStart(16)}  vs ${row.referenceName}: ${theirs}  ratio ${ratioOf(row).toFixed(2)}${note}`;
  });
  return lines.join('\n');
}
