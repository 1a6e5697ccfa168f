/**
 * bench/imap: Correo against Dovecot on the same machine, same load (see bench/README.md).
 *   1. Each server gets BENCH_USERS users, each INBOX filled with the shared corpus (237 messages).
 *   2. Mix: BENCH_CLIENTS long sessions for BENCH_SECONDS (ops/s).
 *   3. Login-heavy: BENCH_LOGIN_CLIENTS clients for BENCH_LOGIN_SECONDS, each session connect,
 *      LOGIN, SELECT, FETCH, STORE, APPEND, EXPUNGE, LOGOUT, again (per-command latency, ops/s).
 *   4. Memory: the server restarted on its data, then BENCH_IDLE sessions in IDLE; the summed
 *      PSS (and RSS) of the server's processes.
 * Usage: bench/imap/run.sh (builds, raises the file limit, runs this).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_DIR, corpusMissing } from '../../test/helpers/corpus.js';
import { startCorreoMail, startDovecotMail, type MailTarget } from '../lib/mail-servers.js';
import { envInt, envList, markdownTable, recordSummary, type SummaryRow } from '../lib/report.js';
import { fill, idleMemory, loginHeavy, mix, type IdleResult, type RunResult } from './workloads.js';

const USERS = envInt('BENCH_USERS', 20);
const CLIENTS = envInt('BENCH_CLIENTS', USERS);
const SECONDS = envInt('BENCH_SECONDS', 20);
const LOGIN_CLIENTS = envInt('BENCH_LOGIN_CLIENTS', 10);
const LOGIN_SECONDS = envInt('BENCH_LOGIN_SECONDS', 20);
const IDLE = envInt('BENCH_IDLE', 5000);
const ONLY = envList('BENCH_ONLY', 'dovecot,correo');
const IDLE_ONLY = envList('BENCH_IDLE_ONLY', ONLY.join(','));
const PROFILE = process.env.BENCH_PROFILE === '1';
/** How Correo's IDLE sessions log in: scram (cheap with the client's cached keys) or login (a scrypt check each). */
const IDLE_LOGIN = (process.env.BENCH_IDLE_LOGIN ?? 'scram').toLowerCase();
const here = dirname(fileURLToPath(import.meta.url));

function corpusDir(): string {
  if (corpusMissing) throw new Error(corpusMissing);
  return CORPUS_DIR;
}
const CORPUS = corpusDir();
const corpus = readdirSync(join(CORPUS, 'messages')).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(join(CORPUS, 'messages', f)));

interface ServerResult {
  fill: number;
  mix: RunResult | null;
  login: RunResult | null;
  idle: IdleResult | null;
  load: string;
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const load = () => loadavg()[0].toFixed(1);

async function runServer(name: string, dir: string): Promise<ServerResult> {
  const setup = { dir, users: USERS, imap: true, pop3: false, nodeFlags: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [] };
  const t: MailTarget = name === 'dovecot' ? await startDovecotMail(setup) : await startCorreoMail(setup);
  const loadBefore = load();
  try {
    const f0 = Date.now();
    await fill(t, USERS, corpus);
    const fillSec = (Date.now() - f0) / 1000;
    console.error(`${name}: filled ${USERS} x ${corpus.length} messages in ${fillSec.toFixed(1)} s`);
    const mixR = SECONDS > 0 ? await mix(t, CLIENTS, USERS, SECONDS, corpus.length) : null;
    if (mixR) console.error(`${name}: mix: ${mixR.ops} operations in ${mixR.seconds.toFixed(1)} s, ${mixR.errors} errors`);
    // With a profile, one process per phase, so each .cpuprofile file is one load (in time order).
    if (PROFILE && name === 'correo') await t.restart();
    const login = LOGIN_SECONDS > 0 ? await loginHeavy(t, LOGIN_CLIENTS, USERS, LOGIN_SECONDS, corpus.length) : null;
    if (login) console.error(`${name}: login-heavy: ${login.sessions} sessions, ${login.ops} operations in ${login.seconds.toFixed(1)} s, ${login.errors} errors`);
    // IDLE memory from a fresh process on the same data: neither server carries the loads' high-water mark.
    let idle: IdleResult | null = null;
    if (IDLE > 0 && IDLE_ONLY.includes(name)) {
      await t.restart();
      idle = await idleMemory(t, IDLE, USERS, name === 'correo' && IDLE_LOGIN === 'scram');
      console.error(`${name}: ${idle.sessions} IDLE sessions: ${mb(idle.bytes)} PSS, ${mb(idle.rss)} RSS`);
    }
    return { fill: fillSec, mix: mixR, login, idle, load: `${loadBefore}-${load()}` };
  } finally {
    await t.stop();
    if (PROFILE && name === 'correo') console.error(`CPU profiles of Correo (fill+mix, login-heavy, IDLE, in file name order): ${join(dir, 'profile')}`);
  }
}

const perSec = (r: RunResult) => r.ops / r.seconds;

function mixTable(results: Record<string, ServerResult>): void {
  console.log(`\nMix: ${USERS} users x ${corpus.length} corpus messages, ${CLIENTS} clients for ${SECONDS} s; IDLE: ${IDLE} sessions`);
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.mix ? perSec(r.mix).toFixed(0) : '-',
    r.mix ? ((r.mix.cpu / r.mix.ops) * 1000).toFixed(2) : '-',
    r.mix ? mb(r.mix.peak) : '-',
    `${((USERS * corpus.length) / r.fill).toFixed(0)} msg/s`,
    String(r.idle?.sessions ?? '-'),
    r.idle ? mb(r.idle.bytes) : '-',
    r.idle ? mb(r.idle.rss) : '-',
    r.idle ? `${(r.idle.perSession / 1024).toFixed(1)} KB` : '-',
    r.load,
  ]);
  console.log(markdownTable(['server', 'ops/s', 'CPU s per 1000 ops', 'peak memory (mix)', 'APPEND fill', 'IDLE sessions', 'PSS with them', 'RSS with them', 'per session', 'load avg'], rows));
}

const LOGIN_COMMANDS = ['connect', 'LOGIN', 'SELECT', 'FETCH', 'STORE', 'APPEND', 'EXPUNGE', 'LOGOUT'];

function loginTable(results: Record<string, ServerResult>): void {
  if (!Object.values(results).some((r) => r.login)) return;
  console.log(`\nLogin-heavy: ${LOGIN_CLIENTS} clients for ${LOGIN_SECONDS} s, each session connect, LOGIN, SELECT, 2 FETCH, STORE, APPEND, STORE + EXPUNGE, LOGOUT; average ms per command`);
  const rows = Object.entries(results).filter(([, r]) => r.login).map(([name, r]) => {
    const l = r.login!;
    return [name, (l.sessions / l.seconds).toFixed(1), perSec(l).toFixed(0), ((l.cpu / l.ops) * 1000).toFixed(2), ...LOGIN_COMMANDS.map((c) => l.latencies.averageMs(c).toFixed(1)), String(l.errors)];
  });
  console.log(markdownTable(['server', 'sessions/s', 'ops/s', 'CPU ms/op', ...LOGIN_COMMANDS.map((c) => `${c} ms`), 'errors'], rows));
}

/** FETCH, STORE, EXPUNGE and APPEND latency averaged with equal weight: the "command latency" under logins. */
const commandLatency = (r: RunResult) => ['FETCH', 'STORE', 'EXPUNGE', 'APPEND'].reduce((a, c) => a + r.latencies.averageMs(c), 0) / 4;

function ratios(results: Record<string, ServerResult>): SummaryRow[] {
  const c = results.correo, d = results.dovecot;
  const rows: SummaryRow[] = [];
  if (c?.mix && d?.mix) rows.push({ bench: 'imap', metric: 'mix ops/s', correo: perSec(c.mix), reference: perSec(d.mix), against: 'Dovecot', aim: 1.5 });
  if (c?.login && d?.login) {
    rows.push({ bench: 'imap', metric: 'login-heavy ops/s', correo: perSec(c.login), reference: perSec(d.login), against: 'Dovecot' });
    rows.push({ bench: 'imap', metric: 'login-heavy FETCH/STORE/EXPUNGE/APPEND ms', correo: commandLatency(c.login), reference: commandLatency(d.login), against: 'Dovecot', lowerIsBetter: true });
    rows.push({ bench: 'imap', metric: 'login-heavy LOGIN ms', correo: c.login.latencies.averageMs('LOGIN'), reference: d.login.latencies.averageMs('LOGIN'), against: 'Dovecot', lowerIsBetter: true });
  }
  if (c?.idle) rows.push({ bench: 'imap', metric: `${c.idle.sessions} IDLE sessions RSS MB`, correo: c.idle.rss / 1048576, reference: 300, against: 'the aim (300 MB)', lowerIsBetter: true, aim: 1 });
  if (c?.idle && d?.idle) rows.push({ bench: 'imap', metric: `${c.idle.sessions} IDLE sessions PSS MB`, correo: c.idle.bytes / 1048576, reference: d.idle.bytes / 1048576, against: 'Dovecot', lowerIsBetter: true });
  for (const r of rows) {
    const x = r.lowerIsBetter ? r.reference / r.correo : r.correo / r.reference;
    console.log(`${r.metric}: Correo ${r.correo.toFixed(1)}, ${r.against} ${r.reference.toFixed(1)}: ${x.toFixed(2)}x${r.lowerIsBetter ? ' (lower is better; the ratio is theirs/ours)' : ''}`);
  }
  return rows;
}

async function main(): Promise<number> {
  const results: Record<string, ServerResult> = {};
  for (const name of ONLY) {
    const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), `bench-imap-${name}-`));
    try {
      results[name] = await runServer(name, dir);
    } finally {
      if (!process.env.BENCH_KEEP && !PROFILE) rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\nIMAP benchmark, Correo ${process.env.BENCH_CORREO_REV ?? '(working tree build)'}`);
  mixTable(results);
  loginTable(results);
  console.log('');
  recordSummary(ratios(results));
  const errs = Object.values(results).reduce((n, r) => n + (r.mix?.errors ?? 0) + (r.login?.errors ?? 0), 0);
  return errs ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
