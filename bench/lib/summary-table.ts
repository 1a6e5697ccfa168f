/**
 * Prints bench/run-all.sh's summary: one row per figure the benches recorded (BENCH_SUMMARY,
 * JSON lines of SummaryRow), with Correo's ratio to the reference server and the aim.
 *   node dist/bench/lib/summary-table.js FILE
 */
import { existsSync, readFileSync } from 'node:fs';
import { markdownTable, ratio, type SummaryRow } from './report.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node dist/bench/lib/summary-table.js FILE');
  process.exit(2);
}
const rows: SummaryRow[] = existsSync(file)
  ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SummaryRow)
  : [];
const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
console.log(markdownTable(
  ['bench', 'figure', 'against', 'Correo', 'reference', 'ratio', 'aim', 'aim met'],
  rows.map((r) => {
    const x = ratio(r);
    return [r.bench, r.metric, r.against, fmt(r.correo), fmt(r.reference), `${x.toFixed(2)}x`, r.aim ? `>= ${r.aim}x` : '', r.aim ? (x >= r.aim ? 'yes' : 'no') : ''];
  }),
  3,
));
console.log('\nratio: Correo/reference, or reference/Correo where lower is better (CPU, latency, memory): above 1 is Correo ahead.');
