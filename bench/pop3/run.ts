/**
 * bench/pop3: Correo against Dovecot's pop3, same machine, same messages, same load.
 *   1. Each server gets BENCH_CLIENTS users; each INBOX gets the same BENCH_MESSAGES messages
 *      of about 4 KB (by IMAP APPEND, so both stores build their own indexes as usual).
 *   2. Load: BENCH_CLIENTS clients (one user each) for BENCH_SECONDS, each looping a session:
 *      connect, USER, PASS, STAT, UIDL, RETR of every message, QUIT. Nothing is deleted.
 *   RETR/s, the ratio, server CPU per RETR, average latency per command.
 * Usage: bench/pop3/run.sh (builds, runs this). See bench/README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PASSWORD, startCorreoMail, startDovecotMail, user, type MailTarget } from '../lib/mail-servers.js';
import { Latencies } from '../lib/latency.js';
import { MemorySampler, treeCpuSeconds } from '../lib/proc.js';
import { envInt, envList, markdownTable, recordSummary } from '../lib/report.js';
import { fill } from '../imap/workloads.js';
import { Pop3Client } from './client.js';

const CLIENTS = envInt('BENCH_CLIENTS', 10);
const MESSAGES = envInt('BENCH_MESSAGES', 50);
const SIZE = envInt('BENCH_SIZE', 4096);
const SECONDS = envInt('BENCH_SECONDS', 20);
const ONLY = envList('BENCH_ONLY', 'dovecot,correo');
const PROFILE = process.env.BENCH_PROFILE === '1';

/** The same messages for both servers: plain text of about SIZE bytes, each with its own headers. */
function messages(): Buffer[] {
  const line = 'POP3 benchmark body line, long enough to look like ordinary mail text.\r\n';
  return Array.from({ length: MESSAGES }, (_, i) => {
    const head = `From: Sender ${i} <sender${i}@example.org>\r\nTo: <reader@example.test>\r\nSubject: pop3 bench message ${i}\r\n` +
      `Date: Thu, 03 Dec 2026 12:${String(i % 60).padStart(2, '0')}:00 +0000\r\nMessage-ID: <pop3-${i}@example.org>\r\nMIME-Version: 1.0\r\n` +
      'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
    return Buffer.from(head + line.repeat(Math.max(1, Math.round((SIZE - head.length) / line.length))));
  });
}

interface Result {
  retr: number;
  sessions: number;
  seconds: number;
  cpu: number;
  peak: number;
  retrBytes: number;
  errors: string[];
  latencies: Latencies;
  load: string;
}

/** One session: every command checked, every RETR counted. */
async function session(t: MailTarget, u: number, lat: Latencies, r: Result): Promise<void> {
  const c = await lat.time('connect', () => Pop3Client.open('127.0.0.1', t.pop3Port));
  try {
    const expect = async (name: string, line: string, multi = false, keep = false) => {
      const rep = await lat.time(name, () => c.cmd(line, multi, keep));
      if (!rep.ok) throw new Error(`${t.name}: ${line.split(' ')[0]} answered ${rep.line}`);
      return rep;
    };
    await expect('USER', `USER ${user(u)}`);
    await expect('PASS', `PASS ${PASSWORD}`);
    const stat = await expect('STAT', 'STAT');
    const n = Number(stat.line.split(' ')[1]);
    if (n !== MESSAGES) throw new Error(`${t.name}: STAT says ${n} messages, expected ${MESSAGES}`);
    const uidl = await expect('UIDL', 'UIDL', true, true);
    if (uidl.text!.split('\r\n').filter(Boolean).length !== n) throw new Error(`${t.name}: UIDL listed the wrong number of messages`);
    for (let i = 1; i <= n; i++) {
      const m = await expect('RETR', `RETR ${i}`, true);
      r.retr++;
      r.retrBytes += m.bytes;
    }
    await expect('QUIT', 'QUIT');
    r.sessions++;
  } finally {
    c.close();
  }
}

async function load(t: MailTarget): Promise<Result> {
  const r: Result = { retr: 0, sessions: 0, seconds: 0, cpu: 0, peak: 0, retrBytes: 0, errors: [], latencies: new Latencies(), load: '' };
  const loadBefore = loadavg()[0];
  const mem = new MemorySampler(() => t.pid(), 500);
  const cpu0 = treeCpuSeconds(t.pid());
  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  mem.start();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, u) => {
    while (Date.now() < end) {
      try {
        await session(t, u, r.latencies, r);
      } catch (e) {
        r.errors.push((e as Error).message);
        if (r.errors.length > 20) return;
      }
    }
  }));
  r.seconds = (Date.now() - t0) / 1000;
  mem.stop();
  r.cpu = treeCpuSeconds(t.pid()) - cpu0;
  r.peak = mem.peakBytes;
  r.load = `${loadBefore.toFixed(1)}-${loadavg()[0].toFixed(1)}`;
  return r;
}

async function runServer(name: string, msgs: Buffer[]): Promise<Result> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), `bench-pop3-${name}-`));
  const setup = { dir, users: CLIENTS, imap: true, pop3: true, nodeFlags: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [] };
  const t = name === 'dovecot' ? await startDovecotMail(setup) : await startCorreoMail(setup);
  try {
    await fill(t, CLIENTS, msgs);
    // The load from a fresh process: neither server carries the fill's caches or high-water mark.
    await t.restart();
    console.error(`${name}: ${CLIENTS} clients x (${MESSAGES} RETR per session) for ${SECONDS} s on 127.0.0.1:${t.pop3Port}`);
    const r = await load(t);
    console.error(`${name}: ${r.sessions} sessions, ${r.retr} RETR, ${(r.retr / r.seconds).toFixed(0)} RETR/s, ${r.errors.length} errors`);
    return r;
  } finally {
    await t.stop();
    if (PROFILE && name === 'correo') console.error(`CPU profiles of Correo (fill, then the load): ${join(dir, 'profile')}`);
    else if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

const COMMANDS = ['connect', 'USER', 'PASS', 'STAT', 'UIDL', 'RETR', 'QUIT'];

async function main(): Promise<number> {
  const msgs = messages();
  const results: Record<string, Result> = {};
  for (const name of ONLY) results[name] = await runServer(name, msgs);
  console.log(`\nPOP3: ${CLIENTS} clients for ${SECONDS} s, each session USER, PASS, STAT, UIDL, RETR x ${MESSAGES} (${msgs[0].length}-byte messages), QUIT; ` +
    `Correo ${process.env.BENCH_CORREO_REV ?? '(working tree build)'}; average ms per command\n`);
  const rows = Object.entries(results).map(([name, r]) => [
    name, String(r.sessions), String(r.retr), (r.retr / r.seconds).toFixed(0), ((r.cpu * 1000) / r.retr).toFixed(3),
    `${(r.peak / 1048576).toFixed(0)} MB`, ...COMMANDS.map((c) => r.latencies.averageMs(c).toFixed(2)), String(r.errors.length), r.load,
  ]);
  console.log(markdownTable(['server', 'sessions', 'RETR', 'RETR/s', 'CPU ms/RETR', 'peak', ...COMMANDS.map((c) => `${c} ms`), 'errors', 'load avg'], rows));
  const c = results.correo, d = results.dovecot;
  if (c && d) {
    const rc = c.retr / c.seconds, rd = d.retr / d.seconds;
    console.log(`\nCorreo/Dovecot RETR/s: ${(rc / rd).toFixed(2)}x; CPU ms per RETR ${((c.cpu * 1000) / c.retr).toFixed(3)} against ${((d.cpu * 1000) / d.retr).toFixed(3)}`);
    recordSummary([
      { bench: 'pop3', metric: 'RETR/s', correo: rc, reference: rd, against: 'Dovecot', aim: 1.5 },
      { bench: 'pop3', metric: 'CPU ms per RETR', correo: (c.cpu * 1000) / c.retr, reference: (d.cpu * 1000) / d.retr, against: 'Dovecot', lowerIsBetter: true },
    ]);
  }
  let bad = 0;
  for (const [name, r] of Object.entries(results)) {
    if (r.errors.length) {
      bad++;
      console.log(`\n${name} errors:\n  ${r.errors.slice(0, 10).join('\n  ')}`);
    }
  }
  return bad ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
