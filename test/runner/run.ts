/**
 * `npm test`: every dist/test/**\/*.test.js (or the files and directories given) under
 * `node --test`, with the spec reporter and the summary reporter (skipped tests by reason,
 * failures; the slowest tests with CORREO_TEST_SLOWEST=N). Exits with node --test's code.
 * Lists the files itself so that the run needs nothing but Node (no find, no shell globs).
 *
 * CORREO_TEST_CONCURRENCY: test files run at once (default: below).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

/** Test files run at once. */
const CONCURRENCY = Number(process.env.CORREO_TEST_CONCURRENCY ?? 2);
/** The per-test bound when a test sets none (each test sets its own). */
const TIMEOUT_MS = 240_000;

function testFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p, { recursive: true }) as string[]) if (f.endsWith('.test.js')) out.push(join(p, f));
    } else out.push(p);
  }
  return [...new Set(out.map((f) => relative(root, resolve(f))))].sort();
}

const files = testFiles(process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'dist/test')]);
const started = Date.now();
const child = spawn(process.execPath, [
  '--test', `--test-concurrency=${CONCURRENCY}`, `--test-timeout=${TIMEOUT_MS}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(here, 'summary.js')}`, '--test-reporter-destination=stdout',
  ...files,
], { cwd: root, stdio: 'inherit' });
// A signal to the runner alone (a terminal's ^C reaches both) is passed on: node --test ends its children.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s (concurrency ${CONCURRENCY})`);
  process.exit(code ?? (signal ? 1 : 0));
});
