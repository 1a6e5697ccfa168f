import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { imapServer, loggedIn, msg, Imap } from './client.js';
import { startServer } from '../helpers/server.js';

/**
 * Issue 10, "Search that scales": the full-text index is written with the message (APPEND,
 * SMTP delivery), SEARCH answers stay exact (the index narrows, the matcher decides), accents
 * fold ("manana" finds "mañana"), and a store from before the index is indexed in the
 * background after the upgrade. The database is read directly only to show WHEN an entry
 * exists (the index is invisible over IMAP by design).
 */

/** How many bodies held by messages have no full-text entry yet (schema v5 blobs.text_state). */
function unindexed(dir: string): number {
  const db = new Database(join(dir, 'correo.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM blobs b WHERE text_state IS NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const uids = async (c: Imap, q: string | [string, string]) => {
  const r = typeof q === 'string' ? await c.cmd(q) : await c.cmdLiteral(q[0], Buffer.from(q[1]));
  assert.match(r.tagged, /OK/, r.tagged);
  return r.untagged.find((l) => l.startsWith('* SEARCH'))!.replace(/^\* SEARCH ?/, '');
};

test('SEARCH through the full-text index: written with the message, accents folded, answers exact', { timeout: 90_000 }, async () => {
  const srv = await imapServer(['usr1@example.test']);
  const c = await loggedIn(srv);
  try {
    // 1: APPEND; 2: SMTP (fast path, same batch); 3: SMTP, over the inline size (indexed after its commit).
    assert.match((await c.cmdLiteral('APPEND INBOX', msg('Reunión de mañana', 'Traeremos los presupuestos.\r\n', 'Content-Type: text/plain; charset=utf-8\r\n'))).tagged, /OK/);
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: srv.ports.smtp, secure: false, ignoreTLS: true });
    try {
      await smtp.sendMail({ from: 'bob@remote.test', to: 'usr1@example.test', subject: 'Lunch', text: 'Hasta MAÑANA, amigo.' });
      await smtp.sendMail({ from: 'carol@remote.test', to: 'usr1@example.test', subject: 'Report', text: `${'filler line of the report\n'.repeat(12_000)}the word pangolin at the end\n`,
        attachments: [{ filename: 'data.bin', content: Buffer.from('pangolin inside a binary attachment') }] });
    } finally {
      smtp.close();
    }
    await until('three messages', async () => /MESSAGES 3/.test((await c.cmd('STATUS INBOX (MESSAGES)')).untagged.join()));
    await until('every body indexed', () => unindexed(srv.dir) === 0);
    assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);

    assert.equal(await uids(c, 'UID SEARCH TEXT manana'), '1 2', '"manana" finds "mañana" in a subject and in a body');
    assert.equal(await uids(c, ['UID SEARCH CHARSET UTF-8 BODY', 'Mañana']), '2');
    assert.equal(await uids(c, 'UID SEARCH SUBJECT manana'), '1', 'a body match is not a subject match');
    assert.equal(await uids(c, 'UID SEARCH BODY esupuest'), '1', 'substring inside a word (RFC 9051 6.4.4)');
    assert.equal(await uids(c, 'UID SEARCH BODY pangolin'), '3', 'found at the end of a 300 KB body; the binary attachment is not text');
    assert.equal(await uids(c, 'UID SEARCH FROM bob@remote.test'), '2');
    assert.equal(await uids(c, 'UID SEARCH OR SUBJECT lunch SUBJECT report'), '2 3');
    assert.equal(await uids(c, 'UID SEARCH TEXT manana NOT FROM bob'), '1');
    assert.equal(await uids(c, 'UID SEARCH BODY er'), '1 3', 'a needle too short for the index still searches every message');
    assert.equal(await uids(c, 'UID SEARCH TEXT xylophone'), '');
    const es = await c.cmd('UID SEARCH RETURN (COUNT MIN) TEXT manana');
    assert.ok(es.untagged.some((l) => /ESEARCH \(TAG "\w+"\) UID MIN 1 COUNT 2/.test(l)), es.untagged.join('\n'));
    assert.equal((await c.cmd('UID SORT (SUBJECT) UTF-8 TEXT manana')).untagged.find((l) => l.startsWith('* SORT')), '* SORT 2 1');
  } finally {
    c.close();
    await srv.stop();
  }
});

const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/datadir-v2');

test('a store from before the index (v2 data_dir) is indexed in the background after the upgrade', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-fts-upgrade-'));
  for (const name of ['correo.db', 'blobs', 'forward']) cpSync(join(FIXTURE, name), join(dir, name), { recursive: true });
  const srv = await startServer({ dir, toml: '[auth]\nplaintext_without_tls = true\n' });
  try {
    await until('the background indexer done', () => unindexed(dir) === 0);
    await until('its log line', () => /full-text index: \d+ message bodies indexed in the background/.test(srv.readLog()));
    const c = await Imap.open(srv.ports.imap);
    try {
      await c.login('ana@example.test', 'ana-pw');
      assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
      assert.equal(await uids(c, 'UID SEARCH BODY "one body file"'), '4');
      assert.equal(await uids(c, 'UID SEARCH SUBJECT "v2 two"'), '2');
    } finally {
      c.close();
    }
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
