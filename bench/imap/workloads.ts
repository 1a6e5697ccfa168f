/**
 * The IMAP bench's loads, each run the same way against either server:
 *   fill        every user's INBOX gets the corpus by APPEND;
 *   mix         long sessions looping a mailbox client's commands (ops/s);
 *   loginHeavy  short sessions (Dovecot imaptest's stress profile in spirit): connect, LOGIN,
 *               a few commands, LOGOUT, again; per-command average latency and ops/s;
 *   idleMemory  thousands of sessions in IDLE, then the server's summed PSS.
 */
import { LoadClient } from './client.js';
import { PASSWORD, user, type MailTarget } from '../lib/mail-servers.js';
import { Latencies } from '../lib/latency.js';
import { scramLogin } from './scram.js';
import { MemorySampler, treeCpuSeconds, treeRssBytes } from '../lib/proc.js';

export function appendArgs(m: Buffer): [string, Buffer] {
  // NUL needs an RFC 3516 literal8; bare LF is fine for both servers.
  return m.includes(0) ? [`~{${m.length}+}`, m] : [`{${m.length}+}`, m];
}

export async function login(t: MailTarget, u: number): Promise<LoadClient> {
  const c = await LoadClient.open('127.0.0.1', t.imapPort);
  const r = await c.cmd(`LOGIN ${user(u)} ${PASSWORD}`);
  if (!r.ok) throw new Error(`${t.name}: LOGIN failed: ${r.text}`);
  return c;
}

export async function fill(t: MailTarget, users: number, messages: Buffer[]): Promise<void> {
  await Promise.all(Array.from({ length: users }, async (_, u) => {
    const c = await login(t, u);
    for (const m of messages) {
      const [lit, data] = appendArgs(m);
      const r = await c.cmd(`APPEND INBOX ${lit}`, data);
      if (!r.ok) throw new Error(`${t.name}: APPEND failed: ${r.text}`);
    }
    await c.cmd('LOGOUT');
    c.close();
  }));
}

export const NEW_MSG = Buffer.from(`From: Load <load@example.org>\r\nTo: someone@example.test\r\nSubject: load test message\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <load@example.org>\r\n\r\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(70)}\r\n`);

export interface RunResult {
  ops: number;
  seconds: number;
  /** Server CPU seconds over the run (its whole process tree). */
  cpu: number;
  peak: number;
  errors: number;
  latencies: Latencies;
  /** Login-heavy only: sessions completed. */
  sessions: number;
}

/** A seeded pseudo-random 1..n per client, so both servers get the same sequence of messages. */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % n) + 1;
}

/** Runs `loop(clientIndex, op)` on `clients` clients until `seconds` have passed, measuring the server meanwhile. */
async function measured(t: MailTarget, clients: number, seconds: number, loop: (ci: number, op: Op, end: number, latencies: Latencies) => Promise<void>): Promise<RunResult> {
  const latencies = new Latencies();
  const r: RunResult = { ops: 0, seconds: 0, cpu: 0, peak: 0, errors: 0, latencies, sessions: 0 };
  const mem = new MemorySampler(() => t.pid(), 500);
  const cpu0 = treeCpuSeconds(t.pid());
  const t0 = Date.now();
  mem.start();
  const op: Op = async (c, name, line, data) => {
    const res = await latencies.time(name, () => c.cmd(line, data));
    if (res.ok) r.ops++;
    else r.errors++;
    return res;
  };
  await Promise.all(Array.from({ length: clients }, (_, ci) => loop(ci, op, t0 + seconds * 1000, latencies)));
  r.seconds = (Date.now() - t0) / 1000;
  mem.stop();
  r.cpu = treeCpuSeconds(t.pid()) - cpu0;
  r.peak = mem.peakBytes;
  return r;
}

type Op = (c: LoadClient, name: string, line: string, data?: Buffer) => Promise<{ ok: boolean; text: string }>;

/** The mix: long sessions, one per client, looping a mail client's everyday commands. */
export async function mix(t: MailTarget, clients: number, users: number, seconds: number, corpusSize: number): Promise<RunResult> {
  const conns = await Promise.all(Array.from({ length: clients }, (_, i) => login(t, i % users)));
  const r = await measured(t, clients, seconds, async (ci, op, end) => {
    const c = conns[ci];
    const rnd = random(ci * 7919 + 1);
    while (Date.now() < end) {
      await op(c, 'SELECT', 'SELECT INBOX');
      const a = rnd(corpusSize - 20);
      await op(c, 'FETCH', `UID FETCH ${a}:${a + 19} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])`);
      await op(c, 'FETCH', `UID FETCH ${rnd(corpusSize)} (BODY.PEEK[])`);
      await op(c, 'FETCH', `UID FETCH ${rnd(corpusSize)} (BODYSTRUCTURE ENVELOPE)`);
      const s = rnd(corpusSize);
      await op(c, 'STORE', `UID STORE ${s} +FLAGS.SILENT (\\Seen)`);
      await op(c, 'SEARCH', 'UID SEARCH UNSEEN');
      await op(c, 'SEARCH', 'UID SEARCH SUBJECT "corpus"');
      await op(c, 'STORE', `UID STORE ${s} -FLAGS.SILENT (\\Seen)`);
      const ap = await op(c, 'APPEND', `APPEND INBOX {${NEW_MSG.length}+}`, NEW_MSG);
      const uid = /APPENDUID \d+ (\d+)/.exec(ap.text)?.[1];
      if (uid) {
        await op(c, 'NOOP', 'NOOP');
        await op(c, 'STORE', `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        await op(c, 'EXPUNGE', `UID EXPUNGE ${uid}`);
      }
    }
  });
  for (const c of conns) c.close();
  return r;
}

/**
 * Login-heavy: each client opens a session, LOGIN, SELECT, FETCH (20 messages' flags and
 * headers, one whole message), STORE \Seen, APPEND, STORE \Deleted + UID EXPUNGE of what it
 * appended, LOGOUT, and starts again. Every login costs the server its password check.
 */
export async function loginHeavy(t: MailTarget, clients: number, users: number, seconds: number, corpusSize: number): Promise<RunResult> {
  let sessions = 0;
  const r = await measured(t, clients, seconds, async (ci, op, end, latencies) => {
    const rnd = random(ci * 104729 + 7);
    while (Date.now() < end) {
      const c = await latencies.time('connect', () => LoadClient.open('127.0.0.1', t.imapPort));
      const li = await op(c, 'LOGIN', `LOGIN ${user(ci % users)} ${PASSWORD}`);
      if (!li.ok) throw new Error(`${t.name}: LOGIN failed: ${li.text}`);
      await op(c, 'SELECT', 'SELECT INBOX');
      const a = rnd(corpusSize - 20);
      await op(c, 'FETCH', `UID FETCH ${a}:${a + 19} (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])`);
      await op(c, 'FETCH', `UID FETCH ${rnd(corpusSize)} (BODY.PEEK[])`);
      await op(c, 'STORE', `UID STORE ${rnd(corpusSize)} FLAGS.SILENT (\\Seen)`);
      const ap = await op(c, 'APPEND', `APPEND INBOX {${NEW_MSG.length}+}`, NEW_MSG);
      const uid = /APPENDUID \d+ (\d+)/.exec(ap.text)?.[1];
      if (uid) {
        await op(c, 'STORE', `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        await op(c, 'EXPUNGE', `UID EXPUNGE ${uid}`);
      }
      await op(c, 'LOGOUT', 'LOGOUT');
      c.close();
      sessions++;
    }
  });
  r.sessions = sessions;
  return r;
}

export interface IdleResult {
  sessions: number;
  /** Summed PSS of the server's processes with the sessions open. */
  bytes: number;
  /** Summed RSS (for one process, as `ps` shows it). */
  rss: number;
  perSession: number;
  base: number;
}

/**
 * `count` sessions logged in, INBOX selected, in IDLE; the server's summed PSS with them all open.
 * `scram`: log in with SCRAM-SHA-256 and client-side cached keys (see scram.ts) instead of LOGIN.
 */
export async function idleMemory(t: MailTarget, count: number, users: number, scram: boolean): Promise<IdleResult> {
  const base = new MemorySampler(() => t.pid());
  base.sample();
  const clients: LoadClient[] = [];
  const batch = 200;
  try {
    for (let i = 0; i < count; i += batch) {
      const made = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const u = (i + j) % users;
        let c: LoadClient;
        if (scram) {
          c = await LoadClient.open('127.0.0.1', t.imapPort);
          await scramLogin(c, user(u), PASSWORD);
        } else c = await login(t, u);
        const r = await c.cmd('SELECT INBOX');
        if (!r.ok) throw new Error(`${t.name}: SELECT failed`);
        await c.idle();
        return c;
      }));
      clients.push(...made);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const m = new MemorySampler(() => t.pid());
    m.sample();
    return { sessions: clients.length, bytes: m.peakBytes, rss: treeRssBytes(t.pid()), perSession: (m.peakBytes - base.peakBytes) / clients.length, base: base.peakBytes };
  } finally {
    for (const c of clients) c.close();
  }
}
