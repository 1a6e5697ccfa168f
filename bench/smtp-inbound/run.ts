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
import { envInt as int, envList, markdownTable, median, recordSummary, type SummaryRow } from '../lib/report.js';
import { senderDomain, type SenderDomain } from '../lib/sender-domain.js';
import type { BenchTarget } from '../lib/target.js';
import type { Load } from '../lib/smtp-source.js';

const env = process.env;
const full = env.BENCH_FULL === '1';

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
const only = envList('BENCH_ONLY', 'postfix,correo');
/** Correo's inbound sender checks: off (like the Postfix here), on (Correo's default), or both, each against the same Postfix run. */
const checks = (env.BENCH_CHECKS ?? 'both').toLowerCase();
if (!['off', 'on', 'both'].includes(checks)) throw new Error(`BENCH_CHECKS=${checks}: expected off, on or both`);
const correoModes = (checks === 'both' ? ['off', 'on'] : [checks]).map((m) => `correo-${m}`);
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

async function runOne(name: string, round: number, sender: SenderDomain): Promise<Result> {
  const dir = join(root, `${name}-${round}`);
  mkdirSync(dir, { recursive: true });
  let target: BenchTarget;
  if (name === 'postfix') {
    target = await startPostfix(dir, host, await freeTcpPort(host));
  } else {
    const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [];
    target = await startCorreo(dir, host, { logLevel: correoLogLevel, nodeFlags: flags, authChecks: name === 'correo-on', dnsRecords: sender.dnsRecords });
  }
  live.add(target);
  try {
    console.error(`${target.name}: ${load.sessions} sessions, ${load.messages} messages of ${sender.bytes} bytes (after ${warmup} warm-up) on ${host}:${target.port}`);
    const r = await measure(target, dir, load, warmup, timeoutMs);
    console.error(`${target.name}: ${perSecond(r).toFixed(0)} msgs/s delivered`);
    return r;
  } finally {
    await target.stop();
    live.delete(target);
    if (profile && name !== 'postfix') console.error(`CPU profile of the Correo server: ${join(dir, 'profile')}/*.cpuprofile`);
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
  return markdownTable(head, rows);
}

const medianOf = (results: Result[], server: string, f: (r: Result) => number): number | null => {
  const rs = results.filter((r) => r.server === server).map(f);
  return rs.length ? median(rs) : null;
};

/** The ratios against Postfix, one line per Correo mode, and the same as summary rows for run-all.sh. */
function ratios(results: Result[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const p = medianOf(results, 'Postfix', perSecond);
  const pCpu = medianOf(results, 'Postfix', (r) => (r.cpuSeconds * 1000) / r.messages);
  for (const mode of ['off', 'on']) {
    const name = `Correo checks ${mode}`;
    const c = medianOf(results, name, perSecond);
    const cCpu = medianOf(results, name, (r) => (r.cpuSeconds * 1000) / r.messages);
    if (c === null || p === null || cCpu === null || pCpu === null) continue;
    console.log(`${name}/Postfix (delivered msgs/s${rounds > 1 ? `, median of ${rounds} rounds` : ''}): ${(c / p).toFixed(2)}x; CPU ms/msg ${cCpu.toFixed(2)} against ${pCpu.toFixed(2)}`);
    rows.push({ bench: 'smtp-inbound', metric: `msgs/s, sender checks ${mode}`, correo: c, reference: p, against: 'Postfix', aim: mode === 'off' ? 2.0 : 1.5 });
    rows.push({ bench: 'smtp-inbound', metric: `CPU ms/msg, sender checks ${mode}`, correo: cCpu, reference: pCpu, against: 'Postfix', lowerIsBetter: true });
  }
  return rows;
}

async function main(): Promise<number> {
  const sender = await senderDomain(join(root, 'message.eml'), load.size);
  load.file = sender.messageFile;
  const results: Result[] = [];
  for (let round = 1; round <= rounds; round++) {
    if (only.includes('postfix')) results.push(await runOne('postfix', round, sender));
    if (only.includes('correo')) for (const m of correoModes) results.push(await runOne(m, round, sender));
  }
  console.log(`\nInbound SMTP to a local mailbox: smtp-source -s ${load.sessions} -m ${load.messages} -F (a DKIM-signed message of ${sender.bytes} bytes)${load.extra.length ? ' ' + load.extra.join(' ') : ''}; ` +
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}; ` +
    `Correo ${env.BENCH_CORREO_REV ?? env.BENCH_CORREO_CLI ?? '(working tree build)'}\n`);
  console.log(table(results));
  console.log('');
  recordSummary(ratios(results));
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
