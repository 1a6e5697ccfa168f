/** Settings from the environment and result tables, shared by every bench's runner. */
import { appendFileSync } from 'node:fs';

/** A whole-number setting from the environment, `fallback` when unset. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a whole number`);
  return n;
}

/** A comma-separated list setting, lower-cased. */
export function envList(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A Markdown table, the first `left` columns left-aligned (names), the others right-aligned (figures). */
export function markdownTable(head: string[], rows: string[][], left = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => '-'.repeat(w + 1) + (i < left ? '-' : ':')).join('|') + '|';
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/** One line of bench/run-all.sh's summary: Correo's figure against the reference server's. */
export interface SummaryRow {
  bench: string;
  metric: string;
  correo: number;
  reference: number;
  /** The reference server's name (Postfix, Dovecot). */
  against: string;
  /** True when a lower figure is better (latency, memory): the ratio is then reference/correo. */
  lowerIsBetter?: boolean;
  /** The aim for the ratio, if it sets one. */
  aim?: number;
}

/** Appends rows to the file named by BENCH_SUMMARY (JSON lines), when run-all.sh asks for them. */
export function recordSummary(rows: SummaryRow[]): void {
  const file = process.env.BENCH_SUMMARY;
  if (!file) return;
  for (const r of rows) appendFileSync(file, JSON.stringify(r) + '\n');
}

export function ratio(r: SummaryRow): number {
  return r.lowerIsBetter ? r.reference / r.correo : r.correo / r.reference;
}
