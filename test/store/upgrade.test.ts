import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { runCli, startServer, type TestServer } from '../helpers/server.js';
import { startSink } from '../helpers/sink.js';
import { Imap } from '../imap/client.js';
import { ScramClient } from '../auth/scram-client.js';

/**
 * A data_dir made by the release before the storage rework (schema user_version 2, commit
 * db5cfa9) opens with today's code, is migrated in place, and keeps every user, message,
 * flag, ACL, quota, subscription, SASL secret, forward list and queued recipient.
 * test/fixtures/make-datadir-v2.sh made the fixture; its README says what is in it.
 */

const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/datadir-v2');

interface Expect {
  queueId: string;
  inbox: { UIDVALIDITY: number; HIGHESTMODSEQ: number };
  projects: { UIDVALIDITY: number };
  bobUidl: string[];
  userVersion: number;
}
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expect.json'), 'utf8')) as Expect;

const PASSWORDS: Record<string, string> = { 'admin@example.test': 'admin-pw', 'ana@example.test': 'ana-pw', 'bob@example.test': 'bob-pw' };

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'correo-upgrade-'));
  for (const name of ['correo.db', 'blobs', 'forward']) cpSync(join(FIXTURE, name), join(dir, name), { recursive: true });
  return dir;
}

async function login(srv: TestServer, user: string): Promise<Imap> {
  const c = await Imap.open(srv.ports.imap);
  await c.login(user, PASSWORDS[user]);
  return c;
}

const ok = (r: { tagged: string }) => assert.match(r.tagged, /^A\d+ OK/, r.tagged);

/** "UID n FLAGS (...)" and the Subject of every message of the selected mailbox, by UID. */
async function summary(c: Imap): Promise<Map<number, { flags: string[]; subject: string }>> {
  const r = await c.cmd('UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  ok(r);
  const out = new Map<number, { flags: string[]; subject: string }>();
  for (const l of r.untagged) {
    const uid = /UID (\d+)/.exec(l);
    if (!uid) continue;
    const flags = /FLAGS \(([^)]*)\)/.exec(l)![1].split(' ').filter(Boolean).sort();
    out.set(Number(uid[1]), { flags, subject: /Subject: ([^\r\n]*)/i.exec(l)?.[1] ?? '' });
  }
  return out;
}

/** RFC 5802 over IMAP AUTHENTICATE (RFC 9051 6.2.2): works only if the stored secret survived. */
async function scramLogin(srv: TestServer, user: string): Promise<string> {
  const c = await Imap.open(srv.ports.imap);
  try {
    const scram = new ScramClient('SCRAM-SHA-256', user, PASSWORDS[user]);
    c.write(`A1 AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(scram.first()).toString('base64')}\r\n`);
    const first = await c.line();
    if (!first.startsWith('+ ')) return first;
    c.write(Buffer.from(scram.final(Buffer.from(first.slice(2), 'base64').toString())).toString('base64') + '\r\n');
    const fin = await c.line();
    if (fin.startsWith('+ ')) c.write('\r\n');
    return fin.startsWith('+ ') ? await c.line() : fin;
  } finally {
    c.close();
  }
}

/** A tiny POP3 client (RFC 1939): USER/PASS, then each command's reply, multi-line ones whole. */
async function pop3(port: number, user: string, commands: string[]): Promise<string[]> {
  const sock = connect({ host: '127.0.0.1', port });
  let buf = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    waiters.splice(0).forEach((f) => f());
  });
  const reply = async (multi: boolean): Promise<string> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const end = multi && buf.startsWith('+OK') ? buf.indexOf('\r\n.\r\n') + 5 : buf.indexOf('\r\n') + 2;
      if (end > 1 && (!multi || !buf.startsWith('+OK') || end > 4)) {
        const r = buf.slice(0, end);
        buf = buf.slice(end);
        return r;
      }
      if (Date.now() > deadline) throw new Error(`POP3: no reply; have ${JSON.stringify(buf)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  try {
    await reply(false);
    for (const line of [`USER ${user}`, `PASS ${PASSWORDS[user]}`]) {
      sock.write(line + '\r\n');
      assert.match(await reply(false), /^\+OK/, line);
    }
    const out: string[] = [];
    for (const cmd of commands) {
      sock.write(cmd + '\r\n');
      // RFC 1939: multi-line replies are UIDL and LIST without an argument, RETR, TOP.
      out.push(await reply(/^(UIDL|LIST)$|^(RETR|TOP) /i.test(cmd)));
    }
    sock.write('QUIT\r\n');
    await reply(false);
    return out;
  } finally {
    sock.destroy();
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a data_dir of the v2 release opens and keeps every user, message, flag, ACL, quota, subscription, secret and queued recipient', { timeout: 120_000 }, async () => {
  const dir = copyFixture();
  const sink = await startSink();
  // give_up as long as allowed: the fixture's queue entry is as old as the fixture.
  const srv = await startServer({
    dir,
    toml: `[auth]\nplaintext_without_tls = true\n[outbound]\nsmart_host = "[${sink.host}]:${sink.port}"\nsmart_host_tls = "none"\ngive_up = 316224000\n`,
  });
  try {
    const users = await srv.cli(['user', 'list']);
    assert.deepEqual(users.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[0]).sort(), Object.keys(PASSWORDS).sort(), users.stdout);

    // Before any password login of bob's on this server: only the stored SCRAM secret can answer.
    assert.match(await scramLogin(srv, 'bob@example.test'), /^A1 OK/, 'the SCRAM-SHA-256 secret made by the old release still works');

    const ana = await login(srv, 'ana@example.test');
    try {
      const list = await ana.cmd('LIST "" "*"');
      const names = list.untagged.filter((l) => !l.includes('\\NonExistent')).map((l) => /"\/" "?([^"]*)"?$/.exec(l)?.[1]).filter(Boolean).sort();
      assert.deepEqual(names, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Later', 'Projects', 'Projects/2026', 'Sent', 'Trash']);
      const subs = await ana.cmd('LSUB "" "*"');
      const subNames = subs.untagged.map((l) => /"\/" "?([^"]*)"?$/.exec(l)?.[1]).filter(Boolean).sort();
      assert.deepEqual(subNames, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Projects', 'Projects/2026', 'Sent', 'Trash'],
        'unsubscribed "Later" stays out; the subscription the v2 DELETE left to "Gone" is removed by migration v6 (issue 10.1)');

      const sel = await ana.cmd('SELECT INBOX');
      ok(sel);
      assert.ok(sel.untagged.includes('* 4 EXISTS'), sel.untagged.join('\n'));
      assert.ok(sel.untagged.some((l) => l.includes(`[UIDVALIDITY ${expected.inbox.UIDVALIDITY}]`)), 'UIDVALIDITY kept');
      assert.ok(sel.untagged.some((l) => l.includes('[UIDNEXT 6]')), sel.untagged.join('\n'));
      const inbox = await summary(ana);
      assert.deepEqual([...inbox.keys()], [1, 2, 4, 5]);
      assert.deepEqual(inbox.get(1), { flags: ['\\Flagged', '\\Seen'], subject: 'v2 one' });
      assert.deepEqual(inbox.get(2), { flags: ['$Work'], subject: 'v2 two' });
      assert.deepEqual(inbox.get(4), { flags: [], subject: 'v2 shared' });
      assert.deepEqual(inbox.get(5)!.flags, ['\\Seen']);
      assert.match(inbox.get(5)!.subject, /delay/i, 'the "delayed" DSN');
      const body = await ana.cmd('UID FETCH 4 (BODY.PEEK[TEXT])');
      assert.match(body.untagged.join('\n'), /one body file, two mailboxes/, 'the body file is found');
      await ana.cmd('CLOSE');

      // RFC 7162 3.2.5.2: the expunge of UID 3 after the mod-sequence the client knew.
      ok(await ana.cmd('ENABLE QRESYNC'));
      const qr = await ana.cmd(`SELECT INBOX (QRESYNC (${expected.inbox.UIDVALIDITY} ${expected.inbox.HIGHESTMODSEQ}))`);
      ok(qr);
      assert.ok(qr.untagged.includes('* VANISHED (EARLIER) 3'), qr.untagged.join('\n'));

      ok(await ana.cmd('SELECT Projects/2026'));
      const copies = await summary(ana);
      assert.deepEqual([...copies.values()], [{ flags: ['\\Flagged', '\\Seen'], subject: 'v2 one' }, { flags: ['$Work'], subject: 'v2 two' }]);
      const proj = await ana.cmd('SELECT Projects');
      assert.ok(proj.untagged.some((l) => l.includes(`[UIDVALIDITY ${expected.projects.UIDVALIDITY}]`)));
      const draft = await ana.cmd('UID FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      assert.match(draft.untagged[0], /FLAGS \(\\Draft\)/);
      assert.match(draft.untagged[0], /INTERNALDATE "01-Jan-2026 10:00:00 \+0000"/);
      assert.match(draft.untagged[0], /Subject: v2 appended/);

      const acl = await ana.cmd('GETACL Projects');
      assert.match(acl.untagged.join('\n'), /^\* ACL "?Projects"? .*"?bob@example\.test"? lrs\b/m);
      const quota = await ana.cmd('GETQUOTAROOT INBOX');
      assert.match(quota.untagged.join('\n'), /QUOTA "?user\.ana@example\.test"? \(STORAGE \d+ 10240 MESSAGE 7 500\)/, 'limits kept, usage counted (4 + 2 + 1 messages)');
    } finally {
      ana.close();
    }

    const bob = await login(srv, 'bob@example.test');
    try {
      ok(await bob.cmd('SELECT INBOX'));
      const b = await summary(bob);
      assert.deepEqual([...b.values()], [{ flags: ['\\Answered'], subject: 'v2 shared' }, { flags: [], subject: 'v2 for bob' }]);
    } finally {
      bob.close();
    }
    const [uidl, retr] = await pop3(srv.ports.pop3, 'bob@example.test', ['UIDL', 'RETR 2']);
    assert.deepEqual(uidl.split('\r\n').slice(1, -2).map((l) => l.split(' ')[1]), expected.bobUidl, 'POP3 UIDLs unchanged: clients do not download again');
    assert.match(retr, /Subject: v2 for bob/);

    const fwd = await srv.cli(['forward', 'show', 'bob@example.test']);
    assert.match(fwd.stdout, /\\bob@example\.test/);
    assert.match(fwd.stdout, /ana@example\.test/);

    // The held, deferred remote recipient: still queued with its last error, and goes out on release.
    const q = await srv.cli(['queue', 'list']);
    assert.match(q.stdout, new RegExp(`^${expected.queueId}!`, 'm'), q.stdout);
    assert.match(q.stdout, /Connection refused/);
    assert.match(q.stdout, /carol@remote\.test/);
    assert.equal((await srv.cli(['queue', 'release', expected.queueId])).code, 0);
    const [sent] = await sink.waitFor(1, 30_000);
    assert.deepEqual(sent.rcpts.map((r) => r.address), ['carol@remote.test']);
    assert.equal(sent.from, 'ana@example.test');
    assert.match(sent.data.toString(), /Subject: v2 relayed/);
    await until('the queue is empty', async () => (await srv.cli(['queue', 'list'])).stdout.includes('Mail queue is empty'));

    // New mail goes on after the old UIDs, and the migrated database accepts it.
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: srv.ports.smtp, secure: false, ignoreTLS: true });
    const info = await smtp.sendMail({ from: 'sender@remote.test', to: 'ana@example.test', subject: 'after the upgrade', text: 'hello' });
    smtp.close();
    assert.match(info.response, /^250 /);
    const ana2 = await login(srv, 'ana@example.test');
    try {
      await until('the new message in INBOX', async () => (await ana2.cmd('STATUS INBOX (MESSAGES)')).untagged[0]?.includes('MESSAGES 5') ?? false);
      ok(await ana2.cmd('SELECT INBOX'));
      const after = await summary(ana2);
      assert.deepEqual(after.get(6)?.subject, 'after the upgrade', 'UID 6: UIDNEXT carried over');
    } finally {
      ana2.close();
    }
  } finally {
    await srv.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database with a newer schema than the code knows is refused, naming the file and both versions', { timeout: 60_000 }, async () => {
  const dir = copyFixture();
  try {
    const file = join(dir, 'correo.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    const config = join(dir, 'correo.toml');
    writeFileSync(config, `hostname = "mail.example.test"\ndata_dir = "${dir}"\ndomains = ["example.test"]\n` +
      `[smtp]\nlisten = ["127.0.0.1:0"]\n[submission]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n` +
      `[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[pop3]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[storage]\nmin_free_bytes = 0\n`);
    const r = await runCli(['serve', '--config', config], undefined, 20_000);
    assert.notEqual(r.code, 0, 'the server does not run on a database it does not understand');
    assert.ok(r.stderr.includes(file), `the message names the file: ${r.stderr}`);
    assert.match(r.stderr, /\b999\b/, 'and the version found');
    assert.match(r.stderr, /version[^\n]*\b\d\b/i, 'and the version this code knows');
    const after = new Database(file, { readonly: true });
    try {
      assert.equal(after.pragma('user_version', { simple: true }), 999, 'nothing was migrated or written');
    } finally {
      after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
