import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open.js';
import { FsBlobStore } from '../../src/store/blobs.js';
import { InProcessQueueSignal } from '../../src/store/notify.js';
import { Spool } from '../../src/queue/spool.js';
import { QueueManager } from '../../src/queue/manager.js';
import { FastPath } from '../../src/queue/fast-path.js';
import { MimeIndexer } from '../../src/queue/mime-index.js';
import { AddressResolver } from '../../src/delivery/resolve.js';
import { TemporaryFailure, type MessageEnvelope } from '../../src/queue/types.js';
import { Logger } from '../../src/log/logger.js';
import { loadConfig } from '../../src/config/load.js';
import { hashPassword } from '../../src/auth/password.js';
import type { Config } from '../../src/config/types.js';
import type { Stores } from '../../src/store/open.js';
import { waitFor } from '../helpers/wait.js';
import { needs } from '../helpers/peers.js';

const RETRY = { initial: 300_000, max: 14_400_000, giveUp: 432_000_000 };

/** The queue parts wired the way startServer wires them (no outbound: remote targets wait). */
function queueParts(config: Config, stores: Stores, log: Logger, resolver: AddressResolver) {
  const { mailboxes, blobs, queue, changes, queueSignal: signal } = stores;
  const mime = new MimeIndexer(blobs, mailboxes, queue, log);
  const fastPath = new FastPath({ resolver, mailboxes, changes, signal, mime, log, remote: false });
  const spool = new Spool({ queue, blobs, signal, log, minFreeBytes: config.storage.min_free_bytes, fastPath });
  const manager = new QueueManager({ queue, mailboxes, blobs, changes, signal, resolver, intake: spool, mime, log, hostname: config.hostname, external: null, retry: RETRY });
  return { spool, manager };
}

/** The real queue parts (SQLite on its writer thread, files, spool, manager) in a fresh data dir, without listeners. */
function world(extraToml = '', dataDir?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'correo-queue-'));
  const data = dataDir ?? join(dir, 'data');
  writeFileSync(join(dir, 'correo.toml'), `hostname = "mail.example.test"\ndata_dir = "${data}"\ndomains = ["example.test"]\nadmins = ["admin@example.test"]\n${extraToml}`);
  const config = loadConfig(join(dir, 'correo.toml'));
  const log = new Logger(config.hostname, 20, join(dir, 'mail.log'));
  const stores = openStore({ dataDir: config.data_dir, writer: 'thread' });
  // A connection of the test's own, to look at (and, to fake a crash, change) the tables.
  const db = new Database(join(config.data_dir, 'correo.db'));
  db.pragma('busy_timeout = 10000');
  const resolver = new AddressResolver(config, (a) => stores.users.has(a), log);
  const delivered: number[] = [];
  stores.changes.subscribe((id) => delivered.push(id));
  const { spool, manager } = queueParts(config, stores, log, resolver);
  const pending = () => (db.prepare(`SELECT count(*) AS n FROM queue_rcpt WHERE status = 'pending'`).get() as { n: number }).n;
  // The manager runs on its own; wait until no recipient is pending any more.
  const idle = () => waitFor(() => pending() === 0, { describe: () => `the queue to drain; ${pending()} recipients still pending` });
  const close = async () => {
    await manager.stop();
    await stores.close();
    db.close();
    log.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, config, db, stores, store: stores.mailboxes, blobs: stores.blobs, blobDir: join(config.data_dir, 'blobs'), resolver, spool, manager, delivered, idle, close, log: () => readFileSync(join(dir, 'mail.log'), 'utf8') };
}

const env = (sender: string, ...rcpts: string[]): MessageEnvelope => ({
  sender, recipients: rcpts.map((address) => ({ address })), clientAddress: '127.0.0.1', helo: 'client.test', via: 'smtp',
});

async function send(w: ReturnType<typeof world>, e: MessageEnvelope, body: string | Buffer): Promise<string> {
  const s = await w.spool.begin(e, (id) => `Received: from client.test by mail.example.test id ${id}\r\n`);
  await s.write(Buffer.isBuffer(body) ? body : Buffer.from(body));
  await s.commit();
  return s.id;
}

async function inbox(w: ReturnType<typeof world>, address: string) {
  const u = (await w.store.getUser(address))!;
  const mb = (await w.store.getMailbox(u.id, 'INBOX'))!;
  return { mb, msgs: await w.store.listMessages(mb.id) };
}

test('a committed message is delivered to every local recipient, sharing one file', { timeout: 30_000 }, async () => {
  const w = world();
  try {
    await w.store.createUser('usr1@example.test', await hashPassword('x'));
    await w.store.createUser('usr2@example.test', await hashPassword('x'));
    const body = 'Subject: hola\r\n\r\nñandú \u00e9t\u00e9\r\n';
    const id = await send(w, env('a@remote.test', 'usr1@example.test', 'usr2@example.test'), body);
    // All-local mail is delivered in the commit that records it: nothing is queued by the time of 250.
    assert.equal((w.db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n, 0);
    const a = await inbox(w, 'usr1@example.test');
    const b = await inbox(w, 'usr2@example.test');
    assert.equal(a.msgs.length, 1);
    assert.equal(b.msgs.length, 1);
    assert.equal(a.msgs[0].blobId, b.msgs[0].blobId, 'one body file for both recipients');
    assert.equal(a.msgs[0].uid, 1);
    const stored = (await w.blobs.read(a.msgs[0].blobId)).toString('utf8');
    assert.equal(stored, `Return-Path: <a@remote.test>\r\nReceived: from client.test by mail.example.test id ${id}\r\n${body}`);
    assert.equal(a.msgs[0].size, Buffer.byteLength(stored));
    assert.equal((w.db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n, 0, 'queue entry removed after delivery');
    assert.match(w.log(), new RegExp(`${id}: to=<usr1@example.test>, relay=local, .*status=sent`));
    assert.deepEqual(w.delivered.sort(), [a.mb.id, b.mb.id].sort(), 'IDLE sessions are told');
  } finally {
    await w.close();
  }
});

test('redelivery after a crash creates no duplicate (idempotency key queue id + recipient)', { timeout: 30_000 }, async () => {
  const w = world();
  try {
    await w.store.createUser('usr1@example.test', await hashPassword('x'));
    await w.manager.stop(); // the message stays queued, as if the process died right after 250
    const quiet = new Logger('x', 0, null);
    const id = await send(w, env('a@remote.test', 'usr1@example.test'), 'Subject: once\r\n\r\nbody\r\n');
    // First delivery happens, then the "crash" loses the queue bookkeeping: put the row back.
    const m2 = queueParts(w.config, w.stores, quiet, new AddressResolver(w.config, (a) => w.stores.users.has(a), quiet)).manager;
    m2.kick();
    await w.idle();
    w.db.prepare(`INSERT INTO queue (id, blob_id, sender, envelope, size, trace_skip, created) VALUES (?, ?, 'a@remote.test', ?, 10, 0, 0)`).run(id, id, JSON.stringify(env('a@remote.test', 'usr1@example.test')));
    w.db.prepare(`INSERT INTO queue_rcpt (queue_id, rcpt) VALUES (?, 'usr1@example.test')`).run(id);
    m2.kick();
    await w.idle();
    await m2.stop();
    assert.equal((await inbox(w, 'usr1@example.test')).msgs.length, 1);
  } finally {
    await w.close();
  }
});

test('aliases expand to users; unknown users behind an alias bounce to the sender with a DSN (S5)', { timeout: 30_000 }, async () => {
  const w = world('[maps]\naliases = "ALIASES"\n'.replace('ALIASES', join(tmpdir(), `correo-aliases-${process.pid}-${Date.now()}`)));
  const aliasFile = w.config.maps.aliases!;
  try {
    writeFileSync(aliasFile, 'ventas: usr1, gone\n');
    w.resolver.reload();
    await w.store.createUser('usr1@example.test', await hashPassword('x'));
    await w.store.createUser('sender@example.test', await hashPassword('x'));
    const id = await send(w, env('sender@example.test', 'ventas@example.test'), 'Subject: pedido\r\nMessage-ID: <p1@x>\r\n\r\nbody\r\n');
    await w.idle();
    assert.equal((await inbox(w, 'usr1@example.test')).msgs.length, 1, 'the existing member got it');
    // The bounce is queued after the recipient is settled: wait for it to land.
    const { msgs } = await waitFor(async () => {
      const box = await inbox(w, 'sender@example.test');
      return box.msgs.length ? box : null;
    }, { describe: () => `the bounce in sender@example.test's INBOX; the log:\n${w.log()}` });
    assert.equal(msgs.length, 1, 'the sender got a bounce');
    const dsn = (await w.blobs.read(msgs[0].blobId)).toString();
    assert.match(dsn, /^Return-Path: <>\r\n/, 'bounces have the null sender');
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(dsn, /Final-Recipient: rfc822; gone@example\.test\r\nAction: failed\r\nStatus: 5\.1\.1/);
    assert.match(dsn, /Message-ID: <p1@x>/, 'the original is attached');
    assert.match(w.log(), new RegExp(`${id}: to=<gone@example.test>, orig_to=<ventas@example.test>, status=bounced`));
  } finally {
    rmSync(aliasFile, { force: true });
    await w.close();
  }
});

test('a bounce to the null sender is never sent (no bounce loops)', { timeout: 30_000 }, async () => {
  const w = world();
  try {
    await w.store.createUser('usr1@example.test', await hashPassword('x'));
    await w.store.deleteUser('usr1@example.test');
    await send(w, env('', 'usr1@example.test'), 'Subject: x\r\n\r\ny\r\n');
    await w.idle();
    // The entry and its file go in the commit after the recipient failed, the file just after it.
    const left = () => ({
      entries: (w.db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n,
      files: readdirSync(w.blobDir).flatMap((d) => readdirSync(join(w.blobDir, d))).length,
    });
    // Bodies are collected in a commit of their own a moment after the entry goes (many at
    // once): wait for that commit instead of a fixed time (issue 12: 5 s was not enough on a
    // busy machine).
    await waitFor(() => !left().entries && !left().files, { describe: () => `the queue and the body files to be gone; left: ${JSON.stringify(left())}` });
    assert.deepEqual(left(), { entries: 0, files: 0 }, 'no entry and nothing left on disk, and no bounce queued');
    assert.doesNotMatch(w.log(), /sender non-delivery notification/);
  } finally {
    await w.close();
  }
});

test('disk full: a 4.3.1 temporary failure, no partial file left, and the next message after space returns is taken', { timeout: 30_000, ...needs('mount', 'umount') }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'correo-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  } catch {
    t.skip('cannot mount a tmpfs here (needs root)');
    rmSync(mnt, { recursive: true, force: true });
    return;
  }
  // The database lives elsewhere; only the message files are on the small file system.
  const w = world();
  const small = new Spool({ queue: w.stores.queue, blobs: new FsBlobStore(join(mnt, 'blobs')), signal: new InProcessQueueSignal(), log: new Logger('x', 0, null), minFreeBytes: 0, fastPath: null });
  try {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const s = await small.begin(env('a@remote.test', 'usr1@example.test'), 'Received: test\r\n');
    await assert.rejects(async () => {
      await s.write(big);
      await s.commit();
    }, (e: unknown) => e instanceof TemporaryFailure && e.enhanced === '4.3.1');
    await s.abort();
    const files = readdirSync(join(mnt, 'blobs')).flatMap((d) => readdirSync(join(mnt, 'blobs', d)));
    assert.deepEqual(files, [], 'nothing half-written remains');
    assert.equal((w.db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n, 0);
    const ok = await small.begin(env('a@remote.test', 'usr1@example.test'), 'Received: test\r\n');
    await ok.write(Buffer.from('Subject: small\r\n\r\nfits\r\n'));
    await ok.commit();
    assert.equal((w.db.prepare('SELECT count(*) AS n FROM queue').get() as { n: number }).n, 1);
  } finally {
    await w.close();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('min_free_bytes refuses new mail with 4.3.1 before anything is written', { timeout: 30_000 }, async () => {
  const w = world('[storage]\nmin_free_bytes = 9000000000000000\n');
  try {
    const strict = new Spool({ queue: w.stores.queue, blobs: w.blobs, signal: new InProcessQueueSignal(), log: new Logger('x', 0, null), minFreeBytes: w.config.storage.min_free_bytes, fastPath: null });
    await assert.rejects(strict.begin(env('a@remote.test', 'usr1@example.test'), ''), (e: unknown) => e instanceof TemporaryFailure && e.enhanced === '4.3.1' && /bytes free/.test(e.message));
  } finally {
    await w.close();
  }
});
