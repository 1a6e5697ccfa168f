/**
 * bench/imap-large (issue 10, "Search that scales"): one 100,000-message mailbox (generate.ts),
 * the same in Correo and in Dovecot, filled without IMAP (fill.ts); then, per server, on a fresh
 * process: SELECT INBOX, FETCH 1:* (UID FLAGS), UID SEARCH TEXT <rare word>, UID SORT (DATE),
 * each timed BENCH_REPEAT times in one session (the first run is cold for Correo: its process
 * just started; Dovecot's index was built by doveadm), and the server's memory after them.
 * Usage: bench/imap-large/run.sh. BENCH_MESSAGES (100000), BENCH_REPEAT (3), BENCH_ONLY.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCorreoMail, startDovecotMail, PASSWORD, user, type MailTarget } from '../lib/mail-servers.js';
import { envInt, envList, markdownTable, median, recordSummary, type SummaryRow } from '../lib/report.js';
import { treeRssBytes } from '../lib/proc.js';
import { LoadClient } from '../imap/client.js';
import { fillCorreo, fillDovecot } from './fill.js';
import { RARE_EVERY, RARE_WORD } from './generate.js';

const COUNT = envInt('BENCH_MESSAGES', 100_000);
const REPEAT = envInt('BENCH_REPEAT', 3);
const ONLY = envList('BENCH_ONLY', 'dovecot,correo');
const USER = user(0);

const COMMANDS: [name: string, line: string, check: (text: string) => string | null][] = [
  ['SELECT', 'SELECT INBOX', (t) => (t.includes(`* ${COUNT} EXISTS`) ? null : 'wrong EXISTS')],
  ['FETCH 1:* (UID FLAGS)', 'FETCH 1:* (UID FLAGS)', () => null],
  [`UID SEARCH TEXT ${RARE_WORD}`, `UID SEARCH TEXT ${RARE_WORD}`, (t) => {
    const n = (/\* SEARCH([\d ]*)/.exec(t)?.[1] ?? '').trim().split(' ').filter(Boolean).length;
    return n === Math.ceil(COUNT / RARE_EVERY) ? null : `${n} matches, expected ${Math.ceil(COUNT / RARE_EVERY)}`;
  }],
  ['UID SORT (DATE)', 'UID SORT (DATE) UTF-8 ALL', (t) => ((/\* SORT([\d ]*)/.exec(t)?.[1] ?? '').trim().split(' ').length === COUNT ? null : 'wrong SORT count')],
];

interface Result {
  times: Record<string, number[]>;
  fillSeconds: number;
  rssMb: number;
  load: string;
}

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

async function measure(t: MailTarget): Promise<Omit<Result, 'fillSeconds'>> {
  const c = await LoadClient.open('127.0.0.1', t.imapPort);
  const times: Record<string, number[]> = {};
  try {
    const login = await c.cmd(`LOGIN ${USER} ${PASSWORD}`);
    if (!login.ok) throw new Error(`${t.name}: LOGIN failed: ${login.text}`);
    for (let r = 0; r < REPEAT; r++) {
      for (const [name, line, check] of COMMANDS) {
        // Only SEARCH, SORT and SELECT are read for checking (FETCH's 100,000 lines are just counted).
        c.keepText = name !== 'FETCH 1:* (UID FLAGS)';
        const start = process.hrtime.bigint();
        const res = await c.cmd(line);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (!res.ok) throw new Error(`${t.name}: ${line}: ${res.text.slice(-300)}`);
        const bad = check(res.text);
        if (bad) throw new Error(`${t.name}: ${line}: ${bad}`);
        (times[name] ??= []).push(ms);
        log(`${t.name}: ${name}: ${ms.toFixed(0)} ms (${res.bytes} octets)`);
      }
    }
  } finally {
    c.close();
  }
  return { times, rssMb: treeRssBytes(t.pid()) / 1048576, load: loadavg()[0].toFixed(1) };
}

async function runServer(name: string, dir: string): Promise<Result> {
  let fillSeconds = 0;
  const setup = { dir, users: 1, imap: true, pop3: false };
  let t: MailTarget;
  if (name === 'correo') {
    t = await startCorreoMail({ ...setup, prepare: async (dataDir) => {
      const start = Date.now();
      await fillCorreo(dataDir, USER, COUNT, (n) => n % 10_000 === 0 && log(`correo: ${n} messages stored`));
      fillSeconds = (Date.now() - start) / 1000;
    } });
  } else {
    t = await startDovecotMail(setup);
    const start = Date.now();
    fillDovecot(dir, USER, COUNT, (n) => log(`dovecot: ${n} messages written`));
    fillSeconds = (Date.now() - start) / 1000;
    await t.restart(); // a fresh process, as Correo's
  }
  try {
    return { ...(await measure(t)), fillSeconds };
  } finally {
    await t.stop();
  }
}

async function main(): Promise<void> {
  const results: Record<string, Result> = {};
  for (const name of ONLY) {
    const dir = mkdtempSync(join(tmpdir(), `imap-large-${name}-`));
    chmodSync(dir, 0o711); // Correo drops root: its user must get through to its data dir
    try {
      log(`${name}: filling ${COUNT} messages`);
      results[name] = await runServer(name, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  for (const [name] of COMMANDS) {
    const cell = (s: string) => (results[s] ? `${results[s].times[name][0].toFixed(0)} / ${median(results[s].times[name]).toFixed(0)}` : '-');
    const c = results.correo ? median(results.correo.times[name]) : NaN;
    const d = results.dovecot ? median(results.dovecot.times[name]) : NaN;
    rows.push([name, cell('correo'), cell('dovecot'), Number.isFinite(c / d) ? `${(d / c).toFixed(2)}x` : '-']);
    if (Number.isFinite(c / d)) summary.push({ bench: 'imap-large', metric: `${name}, ms (median of ${REPEAT})`, against: 'Dovecot', correo: c, reference: d, lowerIsBetter: true, aim: 1 });
  }
  const mem = (s: string) => (results[s] ? `${results[s].rssMb.toFixed(0)} MB` : '-');
  rows.push(['server RSS after the commands', mem('correo'), mem('dovecot'), '']);
  const fill = (s: string) => (results[s] ? `${results[s].fillSeconds.toFixed(0)} s` : '-');
  rows.push(['fill (not over IMAP)', fill('correo'), fill('dovecot'), '']);
  const loads = ONLY.map((s) => `${s} ${results[s]?.load ?? '-'}`).join(', ');
  console.log(`\n## imap-large: ${COUNT} messages in one INBOX (Correo ${process.env.BENCH_CORREO_REV ?? ''}; load average after: ${loads})\n`);
  console.log('ms: first run / median of ' + REPEAT + '; ratio above 1: Correo faster.\n');
  console.log(markdownTable(['command', 'Correo', 'Dovecot', 'ratio'], rows));
  recordSummary(summary);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
