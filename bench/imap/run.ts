/**
 * bench/imap: Correo against Dovecot on the same machine, same load.
 *   1. Each server gets BENCH_USERS users, each INBOX filled with the shared corpus (237 messages).
 *   2. Mix: BENCH_CLIENTS concurrent clients (one per user) for BENCH_SECONDS, each looping
 *      SELECT, FETCH of headers for 20 messages, FETCH of one whole message, STORE flags,
 *      SEARCH (flags and a header), APPEND of a 4 KB message, then STORE \Deleted + EXPUNGE
 *      of it. Operations per second of both and the ratio.
 *   3. Memory: each server restarted on its data, then BENCH_IDLE sessions logged in, INBOX
 *      selected, in IDLE; the summed PSS of the server's processes (Dovecot runs one process
 *      per session, Correo one for all).
 * Usage: bench/imap/run.sh (builds, raises the file limit, runs this).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadClient } from './client.js';
import { PASSWORD, startCorreo, startDovecot, user, type ImapTarget } from './servers.js';
import { MemorySampler, treeCpuSeconds } from '../lib/proc.js';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const USERS = env('BENCH_USERS', 20);
const CLIENTS = env('BENCH_CLIENTS', USERS);
const SECONDS = env('BENCH_SECONDS', 20);
const IDLE = env('BENCH_IDLE', 5000);
const ONLY = (process.env.BENCH_ONLY ?? 'dovecot,correo').split(',');
const here = dirname(fileURLToPath(import.meta.url));
const CORPUS = process.env.BENCH_CORPUS ?? [resolve(here, '../../../../shared/corpus'), '/work/shared/corpus'].find((p) => {
  try {
    return readdirSync(join(p, 'messages')).length > 0;
  } catch {
    return false;
  }
});
if (!CORPUS) throw new Error('corpus not found: set BENCH_CORPUS');

const corpus = readdirSync(join(CORPUS, 'messages')).filter((f) => f.endsWith('.eml')).sort().map((f) => readFileSync(join(CORPUS, 'messages', f)));

function appendArgs(m: Buffer): [string, Buffer] {
  // NUL needs an RFC 3516 literal8; bare LF is fine for both servers.
  return m.includes(0) ? [`~{${m.length}+}`, m] : [`{${m.length}+}`, m];
}

async function login(t: ImapTarget, u: number): Promise<LoadClient> {
  const c = await LoadClient.open('127.0.0.1', t.port);
  const r = await c.cmd(`LOGIN ${user(u)} ${PASSWORD}`);
  if (!r.ok) throw new Error(`${t.name}: LOGIN failed: ${r.text}`);
  return c;
}

async function fill(t: ImapTarget): Promise<void> {
  await Promise.all(Array.from({ length: USERS }, async (_, u) => {
    const c = await login(t, u);
    for (const m of corpus) {
      const [lit, data] = appendArgs(m);
      const r = await c.cmd(`APPEND INBOX ${lit}`, data);
      if (!r.ok) throw new Error(`${t.name}: APPEND failed: ${r.text}`);
    }
    await c.cmd('LOGOUT');
    c.close();
  }));
}

const NEW_MSG = Buffer.from(`From: Load <load@example.org>\r\nTo: someone@example.test\r\nSubject: load test message\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <load@example.org>\r\n\r\n${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(70)}\r\n`);

interface MixResult { ops: number; seconds: number; cpu: number; peak: number; errors: number }

async function mix(t: ImapTarget): Promise<MixResult> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => login(t, i % USERS)));
  let ops = 0, errors = 0;
  const mem = new MemorySampler(() => t.pid(), 500);
  const cpu0 = treeCpuSeconds(t.pid());
  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  mem.start();
  await Promise.all(clients.map(async (c, ci) => {
    let seed = ci * 7919 + 1;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n) + 1;
    const op = async (line: string, data?: Buffer) => {
      const r = await c.cmd(line, data);
      if (!r.ok) errors++;
      else ops++;
      return r;
    };
    while (Date.now() < end) {
      await op('SELECT INBOX');
      const a = rnd(corpus.length - 20);
      await op(`UID FETCH ${a}:${a + 19} (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])`);
      await op(`UID FETCH ${rnd(corpus.length)} (BODY.PEEK[])`);
      await op(`UID FETCH ${rnd(corpus.length)} (BODYSTRUCTURE ENVELOPE)`);
      const s = rnd(corpus.length);
      await op(`UID STORE ${s} +FLAGS.SILENT (\\Seen)`);
      await op('UID SEARCH UNSEEN');
      await op('UID SEARCH SUBJECT "corpus"');
      await op(`UID STORE ${s} -FLAGS.SILENT (\\Seen)`);
      const ap = await op(`APPEND INBOX {${NEW_MSG.length}+}`, NEW_MSG);
      const uid = /APPENDUID \d+ (\d+)/.exec(ap.text)?.[1];
      if (uid) {
        await op('NOOP');
        await op(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        await op(`UID EXPUNGE ${uid}`);
      }
    }
  }));
  const seconds = (Date.now() - t0) / 1000;
  mem.stop();
  const cpu = treeCpuSeconds(t.pid()) - cpu0;
  for (const c of clients) c.close();
  return { ops, seconds, cpu, peak: mem.peakBytes, errors };
}

async function idleMemory(t: ImapTarget): Promise<{ sessions: number; bytes: number; perSession: number; base: number }> {
  const base = new MemorySampler(() => t.pid());
  base.sample();
  const baseBytes = base.peakBytes;
  const clients: LoadClient[] = [];
  const batch = 200;
  for (let i = 0; i < IDLE; i += batch) {
    const made = await Promise.all(Array.from({ length: Math.min(batch, IDLE - i) }, async (_, j) => {
      const c = await login(t, (i + j) % USERS);
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
  for (const c of clients) c.close();
  return { sessions: clients.length, bytes: m.peakBytes, perSession: (m.peakBytes - baseBytes) / clients.length, base: baseBytes };
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

async function main() {
  const results: Record<string, { mix: MixResult; idle: Awaited<ReturnType<typeof idleMemory>> | null; fill: number }> = {};
  for (const name of ONLY) {
    const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), `bench-imap-${name}-`));
    const t = name === 'dovecot' ? await startDovecot(dir, USERS, env('BENCH_DOVECOT_PORT', 20143)) : await startCorreo(dir, USERS);
    try {
      const f0 = Date.now();
      await fill(t);
      const fillSec = (Date.now() - f0) / 1000;
      console.error(`${name}: filled ${USERS} x ${corpus.length} messages in ${fillSec.toFixed(1)} s`);
      const mixR = await mix(t);
      console.error(`${name}: ${mixR.ops} operations in ${mixR.seconds.toFixed(1)} s, ${mixR.errors} errors`);
      // IDLE memory from a fresh process on the same data: neither server carries the mix's high-water mark.
      if (IDLE > 0) await t.restart();
      const idle = IDLE > 0 ? await idleMemory(t) : null;
      if (idle) console.error(`${name}: ${idle.sessions} IDLE sessions: ${mb(idle.bytes)}`);
      results[name] = { mix: mixR, idle, fill: fillSec };
    } finally {
      await t.stop();
      if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\nIMAP benchmark: ${USERS} users x ${corpus.length} corpus messages, ${CLIENTS} clients for ${SECONDS} s, ${IDLE} IDLE sessions`);
  console.log('| server | ops/s | CPU s per 1000 ops | peak memory (mix) | APPEND fill | IDLE sessions | memory with them | per session |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(results)) {
    const ops = r.mix.ops / r.mix.seconds;
    console.log(`| ${name} | ${ops.toFixed(0)} | ${((r.mix.cpu / r.mix.ops) * 1000).toFixed(2)} | ${mb(r.mix.peak)} | ${(USERS * corpus.length / r.fill).toFixed(0)} msg/s | ${r.idle?.sessions ?? '-'} | ${r.idle ? mb(r.idle.bytes) : '-'} | ${r.idle ? `${(r.idle.perSession / 1024).toFixed(1)} KB` : '-'} |`);
  }
  if (results.correo && results.dovecot) {
    const c = results.correo.mix.ops / results.correo.mix.seconds, d = results.dovecot.mix.ops / results.dovecot.mix.seconds;
    console.log(`\nops/s ratio correo/dovecot: ${(c / d).toFixed(2)}`);
    if (results.correo.idle && results.dovecot.idle) console.log(`IDLE memory ratio correo/dovecot: ${(results.correo.idle.bytes / results.dovecot.idle.bytes).toFixed(2)}`);
  }
  const errs = Object.values(results).reduce((n, r) => n + r.mix.errors, 0);
  process.exit(errs ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
