/**
 * A node:test reporter (`--test-reporter=dist/test/runner/summary.js`) that prints, at the end
 * of the run: the skipped tests grouped by their reason (a missing peer's reason is its
 * apt-get line, test/helpers/peers.ts), the failures by name, and with CORREO_TEST_SLOWEST=N
 * the N slowest tests and test files (`npm run test:slow`). It runs beside the spec reporter.
 */
import { relative } from 'node:path';

interface TestData {
  name: string;
  nesting: number;
  file?: string;
  skip?: string | boolean;
  todo?: string | boolean;
  details: { duration_ms: number; type?: string };
}

interface Event { type: string; data: TestData }

const where = (file?: string) => (file ? relative(process.cwd(), file) : '?');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function skipped(skips: Map<string, TestData[]>): string[] {
  if (skips.size === 0) return [];
  const n = [...skips.values()].reduce((a, l) => a + l.length, 0);
  const out = [`\nSkipped: ${n} test${n === 1 ? '' : 's'}, by reason:`];
  for (const [reason, tests] of [...skips].sort((a, b) => b[1].length - a[1].length)) {
    const files = [...new Set(tests.map((t) => where(t.file)))];
    out.push(`  ${reason}  (${tests.length})`, `    ${files.join('\n    ')}`);
  }
  return out;
}

function slowest(tests: TestData[], files: TestData[], n: number): string[] {
  const top = (l: TestData[]) => [...l].sort((a, b) => b.details.duration_ms - a.details.duration_ms).slice(0, n);
  return [
    `\nSlowest ${n} tests:`,
    ...top(tests).map((t) => `  ${secs(t.details.duration_ms).padStart(8)}  ${t.name}  (${where(t.file)})`),
    `\nSlowest ${n} test files (their whole process):`,
    ...top(files).map((t) => `  ${secs(t.details.duration_ms).padStart(8)}  ${where(t.file)}`),
  ];
}

export default async function* summary(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const skips = new Map<string, TestData[]>();
  const failed: TestData[] = [];
  const tests: TestData[] = [];
  const files: TestData[] = [];
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail' && type !== 'test:complete') continue;
    const isFile = data.name === data.file;
    if (type === 'test:complete') {
      // A file's own entry (its whole process) comes as test:complete only.
      if (isFile) files.push(data);
      continue;
    }
    if (isFile || data.details.type === 'suite') {
      if (type === 'test:fail') failed.push(data);
      continue;
    }
    if (data.skip) {
      const reason = typeof data.skip === 'string' ? data.skip : '(no reason given)';
      skips.set(reason, [...(skips.get(reason) ?? []), data]);
    } else tests.push(data);
    if (type === 'test:fail') failed.push(data);
  }
  const out = skipped(skips);
  const n = Number(process.env.CORREO_TEST_SLOWEST ?? 0);
  if (n > 0) out.push(...slowest(tests, files, n));
  if (failed.length) out.push(`\nFailed: ${failed.length}`, ...failed.map((t) => `  ${t.name}  (${where(t.file)})`));
  if (out.length) yield out.join('\n') + '\n';
}
