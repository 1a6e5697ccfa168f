import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startServer, type TestServer } from '../helpers/server.js';
import { createTestDb, dropTestDb, pgSkip } from '../helpers/postgres.js';

/**
 * `correo store migrate` (issue 13): a SQLite store with mail in it is copied into a fresh
 * PostgreSQL database and verified; the server started on PostgreSQL shows the same messages
 * with the same UIDs, UIDVALIDITY and flags; then the way back, into a new SQLite data_dir.
 */

async function snapshot(s: TestServer): Promise<{ uidValidity: string; msgs: string[] }> {
  const c = new ImapFlow({ host: '127.0.0.1', port: s.ports.imap, secure: false, auth: { user: 'usr1@example.test', pass: 'pw1' }, tls: { rejectUnauthorized: false }, logger: false });
  await c.connect();
  try {
    const box = await c.mailboxOpen('INBOX');
    const msgs: string[] = [];
    for await (const m of c.fetch('1:*', { uid: true, flags: true, source: true })) {
      msgs.push(`${m.uid} ${[...(m.flags ?? [])].sort().join(',')} ${/Subject: (.*)\r/.exec(m.source!.toString())?.[1]} ${m.source!.length}`);
    }
    return { uidValidity: String(box.uidValidity), msgs };
  } finally {
    await c.logout().catch(() => undefined);
  }
}

/** Points the server's config at another store and restarts it. */
async function switchStore(s: TestServer, store: string): Promise<void> {
  const text = readFileSync(s.configFile, 'utf8').replace(/\n\[store\][^[]*/, '\n');
  writeFileSync(s.configFile, text);
  appendFileSync(s.configFile, `\n[store]\n${store}\n`);
  await s.restart();
}

test('store migrate: SQLite to PostgreSQL and back, verified, with the same UIDs, UIDVALIDITY and flags', { timeout: 180_000, skip: pgSkip ?? false }, async () => {
  const db = await createTestDb();
  let server: TestServer | null = null;
  try {
    server = await startServer();
    await server.addUser('usr1@example.test', 'pw1');
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true });
    for (let i = 0; i < 5; i++) await t.sendMail({ from: 'a@example.org', to: 'usr1@example.test', subject: `m${i}`, text: `body ${i}\n`.repeat(i * 100 + 1) });
    t.close();
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imap, secure: false, auth: { user: 'usr1@example.test', pass: 'pw1' }, tls: { rejectUnauthorized: false }, logger: false });
    await c.connect();
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Seen', '$Label']);
    await c.messageDelete('1'); // an expunge: UIDs no longer start at 1
    await c.logout();
    const before = await snapshot(server);
    assert.equal(before.msgs.length, 4);

    await server.restart(); // flushes; then stopped for the copy
    await server.kill9();
    const up = await server.cli(['store', 'migrate', '--to', db.url]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /messages: 4 rows/);
    assert.match(up.stdout, /verified: .* and 4 bodies, the same on both sides/);
    const again = await server.cli(['store', 'migrate', '--to', db.url]);
    assert.notEqual(again.code, 0, 'a target that is not empty is refused');

    await switchStore(server, `backend = "postgresql"\nurl = "${db.url}"\nnode_id = "m"`);
    assert.deepEqual(await snapshot(server), before, 'the same mailbox on PostgreSQL');
    await server.kill9();

    const back = join(server.dir, 'back');
    const down = await server.cli(['store', 'migrate', '--to', `sqlite:${back}`]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /verified/);
    // The new store takes the place of the old one in the data_dir (the test server's files live there).
    for (const f of ['correo.db', 'correo.db-wal', 'correo.db-shm', 'blobs']) {
      if (existsSync(join(server.dir, f))) renameSync(join(server.dir, f), join(server.dir, `old-${f}`));
      if (existsSync(join(back, f))) renameSync(join(back, f), join(server.dir, f));
    }
    await switchStore(server, 'backend = "sqlite"');
    assert.deepEqual(await snapshot(server), before, 'the same mailbox back on SQLite');
  } finally {
    await server?.stop();
    await dropTestDb(db.name);
  }
});
