import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { startServer } from '../helpers/server.js';

/** Subjects of every message stored in the user's INBOX, read from the database and the files. */
function storedSubjects(dir: string, address: string): string[] {
  const db = new Database(join(dir, 'correo.db'), { readonly: true });
  try {
    const rows = db.prepare(
      `SELECT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id
        WHERE u.address = ? AND b.name = 'INBOX'`).all(address) as { blob_id: string }[];
    return rows.map((r) => {
      const text = readFileSync(join(dir, 'blobs', r.blob_id.slice(-2), r.blob_id), 'latin1');
      return /^Subject: (.*)$/m.exec(text)?.[1].trim() ?? '';
    });
  } finally {
    db.close();
  }
}

function pending(dir: string): number {
  const db = new Database(join(dir, 'correo.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM queue_rcpt WHERE status = 'pending'`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('kill -9 during a 200-message load loses no message that got a 250, and duplicates none', { timeout: 120_000 }, async () => {
  const server = await startServer();
  try {
    await server.addUser('usr1@example.test', 'pw');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true, pool: true, maxConnections: 8,
      connectionTimeout: 5000, socketTimeout: 5000,
    });
    const accepted: string[] = [];
    let killed = false;
    const sends = Array.from({ length: 200 }, (_, i) => `load-${i}`).map((subject) =>
      transport
        .sendMail({ from: 'sender@remote.test', to: 'usr1@example.test', subject, text: `message ${subject}\n`.repeat(40) })
        .then(async (info) => {
          assert.match(info.response, /^250 /);
          accepted.push(subject);
          if (accepted.length === 100 && !killed) {
            killed = true;
            await server.kill9();
          }
        })
        .catch(() => undefined),
    );
    await Promise.all(sends);
    transport.close();
    assert.ok(killed, 'the server was killed in the middle of the load');
    assert.ok(accepted.length >= 100 && accepted.length < 200, `acked before the kill: ${accepted.length}`);

    await server.restart();
    for (let i = 0; i < 200 && pending(server.dir) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pending(server.dir), 0, 'the queue left by the crash was delivered after restart');

    const stored = storedSubjects(server.dir, 'usr1@example.test');
    const missing = accepted.filter((s) => !stored.includes(s));
    assert.deepEqual(missing, [], 'every message that got a 250 is in the mailbox');
    const dupes = stored.filter((s, i) => stored.indexOf(s) !== i);
    assert.deepEqual(dupes, [], 'no message is stored twice');
  } finally {
    await server.stop();
  }
});
