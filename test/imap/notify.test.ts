import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Imap, imapServer, loggedIn, msg } from './client.js';
import type { TestServer } from '../helpers/server.js';
import { needs } from '../helpers/peers.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

async function append(c: Imap, box: string, subject: string, flags = ''): Promise<void> {
  const r = await c.cmdLiteral(`APPEND ${box}${flags ? ` (${flags})` : ''}`, msg(subject));
  assert.match(r.tagged, /OK/);
}

test('several sessions: new mail, flag changes and expunges reach the others at the next command', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv);
  const b = await loggedIn(srv);
  try {
    await a.cmd('CREATE Shared1');
    for (const s of ['one', 'two', 'three']) await append(a, 'Shared1', s);
    await a.cmd('SELECT Shared1');
    const rb = await b.cmd('SELECT Shared1');
    assert.ok(rb.untagged.includes('* 3 EXISTS'));
    // a sets a flag: b hears it at its next command.
    await a.cmd('STORE 2 +FLAGS.SILENT (\\Flagged)');
    let r = await b.cmd('NOOP');
    assert.deepEqual(r.untagged, ['* 2 FETCH (UID 2 FLAGS (\\Flagged))']);
    // a expunges message 1: b must not see EXPUNGE during FETCH (RFC 9051 7.4.1), but at NOOP.
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    r = await a.cmd('EXPUNGE');
    assert.deepEqual(r.untagged, ['* 1 EXPUNGE']);
    r = await b.cmd('FETCH 1:3 (UID)');
    assert.equal(r.untagged.some((l) => /EXPUNGE/.test(l)), false, r.untagged.join('\n'));
    assert.ok(r.untagged.includes('* 3 FETCH (UID 3)'), 'sequence numbers stay valid until announced');
    r = await b.cmd('NOOP');
    assert.ok(r.untagged.includes('* 1 EXPUNGE'), r.untagged.join('\n'));
    r = await b.cmd('FETCH 1:* (UID FLAGS)');
    assert.deepEqual(r.untagged, ['* 1 FETCH (UID 2 FLAGS (\\Flagged))', '* 2 FETCH (UID 3 FLAGS ())']);
    // a appends: b sees EXISTS.
    await append(a, 'Shared1', 'four');
    r = await b.cmd('NOOP');
    assert.ok(r.untagged.includes('* 3 EXISTS'), r.untagged.join('\n'));
  } finally {
    a.close();
    b.close();
  }
});

test('IDLE: other sessions\' changes arrive immediately; DONE ends it', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv);
  const b = await loggedIn(srv);
  try {
    await a.cmd('CREATE Idle1');
    await append(a, 'Idle1', 'first');
    await a.cmd('SELECT Idle1');
    await b.cmd('SELECT Idle1');
    b.write('i1 IDLE\r\n');
    assert.equal(await b.line(), '+ idling');
    await append(a, 'Idle1', 'second');
    assert.equal(await b.line(2000), '* 2 EXISTS');
    await a.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.equal(await b.line(2000), '* 1 FETCH (UID 1 FLAGS (\\Seen))');
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await b.line(2000);
    await a.cmd('EXPUNGE');
    assert.equal(await b.line(2000), '* 1 EXPUNGE');
    b.write('DONE\r\n');
    assert.match(await b.line(), /^i1 OK/);
  } finally {
    a.close();
    b.close();
  }
});

test('QRESYNC sessions get VANISHED instead of EXPUNGE', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv);
  const b = await loggedIn(srv);
  try {
    await a.cmd('CREATE Q1');
    for (const s of ['q1', 'q2', 'q3']) await append(a, 'Q1', s);
    await b.cmd('ENABLE QRESYNC');
    const sel = await b.cmd('SELECT Q1');
    const hms = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.all.join('\n'))![1]);
    const uv = Number(/UIDVALIDITY (\d+)/.exec(sel.all.join('\n'))![1]);
    await a.cmd('SELECT Q1');
    await a.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await a.cmd('EXPUNGE');
    await a.cmd('STORE 1 +FLAGS.SILENT (\\Answered)');
    let r = await b.cmd('NOOP');
    assert.ok(r.untagged.includes('* VANISHED 2'), r.untagged.join('\n'));
    assert.ok(r.untagged.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$/.test(l)), r.untagged.join('\n'));
    // A fresh QRESYNC SELECT with the old state learns the same.
    const c = await loggedIn(srv);
    await c.cmd('ENABLE QRESYNC');
    r = await c.cmd(`SELECT Q1 (QRESYNC (${uv} ${hms} 1:3))`);
    assert.ok(r.untagged.includes('* VANISHED (EARLIER) 2'), r.untagged.join('\n'));
    assert.ok(r.untagged.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \(\\Answered\) MODSEQ/.test(l)));
    r = await c.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms} VANISHED)`);
    assert.ok(r.untagged.includes('* VANISHED (EARLIER) 2'), r.untagged.join('\n'));
    c.close();
  } finally {
    a.close();
    b.close();
  }
});

test('mail delivered over SMTP shows up in an IDLE session within a second', { timeout: 30000, ...needs('swaks') }, async () => {
  const b = await loggedIn(srv);
  try {
    await b.cmd('SELECT INBOX');
    const before = (await b.cmd('STATUS INBOX (MESSAGES)')).untagged[0];
    const n = Number(/MESSAGES (\d+)/.exec(before)![1]);
    b.write('i1 IDLE\r\n');
    assert.equal(await b.line(), '+ idling');
    const t0 = Date.now();
    const r = spawnSync('swaks', ['--server', `127.0.0.1:${srv.ports.smtp}`, '--to', 'usr1@example.test', '--from', 'sender@example.org',
      '--header', 'Subject: idle-delivery', '--body', 'pushed'], { encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(await b.line(3000), `* ${n + 1} EXISTS`);
    assert.ok(Date.now() - t0 < 1000 + 1500 /* swaks itself */, `took ${Date.now() - t0} ms`);
    b.write('DONE\r\n');
    assert.match(await b.line(), /^i1 OK/);
    // DESIGN.md: the MIME tree is parsed at delivery and stored with the message file.
    const db = new Database(join(srv.dir, 'correo.db'), { readonly: true });
    let unparsed = -1;
    for (let i = 0; i < 40 && unparsed !== 0; i++) {
      unparsed = (db.prepare('SELECT count(*) AS n FROM blobs b JOIN messages m ON m.blob_id = b.id WHERE b.mime IS NULL').get() as { n: number }).n;
      if (unparsed) await new Promise((res) => setTimeout(res, 50));
    }
    db.close();
    assert.equal(unparsed, 0);
    const f = await b.cmd(`FETCH ${n + 1} BODY.PEEK[HEADER.FIELDS (SUBJECT)]`);
    assert.match(f.untagged[0], /Subject: idle-delivery/);
  } finally {
    b.close();
  }
});
