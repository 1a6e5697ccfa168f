/**
 * Inbound SMTP benchmark: messages per second delivered to a local mailbox by Correo and by
 * Debian's Postfix, on this machine, under the same smtp-source load. See bench/README.md.
 *
 *   bench/smtp-inbound/run.sh                 quick run (20 sessions, 1000 messages)
 *   BENCH_FULL=1 bench/smtp-inbound/run.sh    the full load (20 sessions, 5000 messages)
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { startPostfix } from '../lib/postfix.js';
import { startCorreo } from '../lib/correo.js';
import { freeTcpPort } from '../../test/helpers/ports.js';
import { measure, perSecond, type Result } from '../lib/measure.js';
import type { BenchTarget } from '../lib/target.js';
import type { Load } from '../lib/smtp-source.js';

const env = process.env;
const full = env.BENCH_FULL === '1';

function int(name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a whole number`);
  return n;
}

const load: Load = {
  sessions: int('BENCH_SESSIONS', 20),
  messages: int('BENCH_MESSAGES', full ? 5000 : 1000),
  size: int('BENCH_SIZE', 4096),
  extra: (env.BENCH_SMTP_SOURCE_ARGS ?? '').split(/\s+/).filter(Boolean),
};
const warmup = int('BENCH_WARMUP', 200);
const rounds = Math.max(1, int('BENCH_ROUNDS', 1));
const host = env.BENCH_HOST ?? '127.0.0.1';
const timeoutMs = int('BENCH_TIMEOUT', 600) * 1000;
const only = (env.BENCH_ONLY ?? 'postfix,correo').toLowerCase().split(',').map((s) => s.trim());
const correoLogLevel = int('BENCH_CORREO_LOG_LEVEL', 9);
const profile = env.BENCH_PROFILE === '1';
const keep = env.BENCH_KEEP === '1';

const root = mkdtempSync(join(env.BENCH_DIR ?? tmpdir(), 'correo-bench-'));
// Postfix's daemons (user postfix) and virtual(8) (user nobody) must reach their directories inside.
chmodSync(root, 0o755);
const live = new Set<BenchTarget>();

async function stopAll(): Promise<void> {
  for (const t of live) {
    try {
      await t.stop();
    } catch (e) {
      console.error(`stopping ${t.name}: ${(e as Error).message}`);
    }
    live.delete(t);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the servers`);
    void stopAll().finally(() => {
      if (!keep && !profile) rmSync(root, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

async function runOne(name: string, round: number): Promise<Result> {
  const dir = join(root, `${name}-${round}`);
  mkdirSync(dir, { recursive: true });
  let target: BenchTarget;
  if (name === 'postfix') {
    target = await startPostfix(dir, host, await freeTcpPort(host));
  } else {
    const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [];
    target = await startCorreo(dir, host, { logLevel: correoLogLevel, nodeFlags: flags });
  }
  live.add(target);
  try {
    console.error(`${target.name}: ${load.sessions} sessions, ${load.messages} messages of ${load.size} bytes (after ${warmup} warm-up) on ${host}:${target.port}`);
    const r = await measure(target, dir, load, warmup, timeoutMs);
    console.error(`${target.name}: ${perSecond(r).toFixed(0)} msgs/s delivered`);
    return r;
  } finally {
    await target.stop();
    live.delete(target);
    if (profile && name === 'correo') console.error(`CPU profile of the Correo server: ${join(dir, 'profile')}/*.cpuprofile`);
  }
}

function table(results: Result[]): string {
  const head = ['server', 'messages', 'accepted s', 'delivered s', 'msgs/s', 'accepted msgs/s', 'CPU s', 'CPU ms/msg', 'peak MB', 'fsync ms', 'load avg'];
  const rows = results.map((r) => [
    r.server,
    String(r.messages),
    r.acceptedSeconds.toFixed(2),
    r.deliveredSeconds.toFixed(2),
    perSecond(r).toFixed(0),
    (r.messages / r.acceptedSeconds).toFixed(0),
    r.cpuSeconds.toFixed(2),
    ((r.cpuSeconds * 1000) / r.messages).toFixed(2),
    (r.peakBytes / 2 ** 20).toFixed(0),
    r.fsyncMs.toFixed(2),
    `${r.loadBefore.toFixed(1)}-${r.loadAfter.toFixed(1)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 1) + '-' : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<number> {
  const results: Result[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const name of ['postfix', 'correo']) {
      if (only.includes(name)) results.push(await runOne(name, round));
    }
  }
  console.log(`\nInbound SMTP to a local mailbox: smtp-source -s ${load.sessions} -m ${load.messages} -l ${load.size}${load.extra.length ? ' ' + load.extra.join(' ') : ''}; ` +
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}; ` +
    `Correo ${env.BENCH_CORREO_REV ?? env.BENCH_CORREO_CLI ?? '(working tree build)'}\n`);
  console.log(table(results));
  const rate = (server: string) => {
    const rs = results.filter((r) => r.server === server).map(perSecond);
    return rs.length ? median(rs) : null;
  };
  const c = rate('Correo'), p = rate('Postfix');
  if (c !== null && p !== null) {
    console.log(`\nCorreo/Postfix (delivered msgs/s${rounds > 1 ? `, median of ${rounds} rounds` : ''}): ${(c / p).toFixed(2)}x`);
  }
  let bad = 0;
  for (const r of results) {
    if (r.problems.length) {
      bad++;
      console.log(`\n${r.server} logged problems:\n  ${r.problems.slice(0, 20).join('\n  ')}`);
    }
  }
  if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, JSON.stringify({ load, warmup, rounds, results }, null, 2));
  return bad ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`\nbenchmark failed: ${(e as Error).stack ?? e}`);
} finally {
  await stopAll();
  if (keep || profile) console.error(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(code);
